'use strict';
// What `require('@aws/cloudformation-validate')` gives code under jest (moduleNameMapper in jest.config.js): the
// worker-wide module that jest-environment.js put on the test global.
const shared = globalThis.__cdkSsmHybridFleetCloudFormationValidate;
if (!shared) throw new Error('test/support/jest-environment.js must be the testEnvironment (see jest.config.js)');
module.exports = shared;
