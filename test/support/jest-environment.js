'use strict';
/*
 * The jest environment of every test file: jest's node environment, plus one CloudFormation schema validator per
 * worker process instead of one per test file.
 *
 * `@aws-cdk/core:validateAgainstDefaultRules` (on in every test App) validates each synthesized template with
 * aws-cdk-lib's `@aws/cloudformation-validate`, whose engine loads every CloudFormation resource schema when it is
 * built: about 8 s of CPU. aws-cdk-lib keeps that engine in its own module state, which jest rebuilds for each test
 * file, and builds it again whenever a template brings a resource type the engine was not built for. Here the
 * validator module is loaded once per worker, outside jest's module registry (this file is loaded by the worker
 * itself), and test code reaches it through `moduleNameMapper` (jest.config.js). See cloudformation-validate.js.
 */
const { TestEnvironment } = require('jest-environment-node');
const shared = require('./cloudformation-validate-shared');

class HybridFleetTestEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.global[shared.GLOBAL_KEY] = shared.module;
  }
}

module.exports = HybridFleetTestEnvironment;
