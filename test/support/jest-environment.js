'use strict';
/*
 * The jest environment of every test file: jest's node environment, plus one CloudFormation schema validator per
 * worker process instead of one per test file, and one map of Control Tower guard results per worker
 * (control-tower-guard.ts).
 *
 * `@aws-cdk/core:validateAgainstDefaultRules` (on in every test App) validates each synthesized template with
 * aws-cdk-lib's `@aws/cloudformation-validate`, whose engine loads every CloudFormation resource schema when it is
 * built: about 8 s of CPU. aws-cdk-lib keeps that engine in its own module state, which jest rebuilds for each test
 * file, and builds it again whenever a template brings a resource type the engine was not built for. Here the
 * validator module is loaded once per worker, outside jest's module registry (this file is loaded by the worker
 * itself), and test code reaches it through `moduleNameMapper` (jest.config.js). See cloudformation-validate.js.
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const v8 = require('v8');
const { TestEnvironment } = require('jest-environment-node');

// The validator is a large WebAssembly module. V8 runs it with its baseline compiler (Liftoff) and, by default, compiles
// its hot functions again with TurboFan on background threads; at exit, node waits for those jobs, which kept a jest
// worker alive seconds after its last test ("A worker process has failed to exit gracefully"). Liftoff alone exits at
// once and costs less CPU overall for how little each worker validates. Set before the module is compiled.
v8.setFlagsFromString('--liftoff-only');
const shared = require('./cloudformation-validate-shared');

/** The Control Tower guard's results in this worker, by input (see control-tower-guard.ts). */
const GUARD_RESULTS_KEY = '__cdkSsmHybridFleetGuardResults';
const guardResults = new Map();

// A temporary directory of this worker for what tests write there (every App's cloud assembly, the guard's inputs,
// sandboxes): os.tmpdir() names it in the worker and its children. It is emptied after each test file and removed at
// exit, so that a run leaves nothing in the system's temporary directory (it left some 1,300 cdk.out directories).
// Its name is short: gpg-agent's socket lives in a GNUPGHOME that the installer script nests a few levels below, and
// a Unix socket path may not exceed 107 bytes.
const workerTmp = fs.mkdtempSync(path.join(os.tmpdir(), 'jw-'));
// The system's one stays known to what the workers share (exclusive.ts's lock).
process.env.CDK_SSM_HYBRID_FLEET_SHARED_TMPDIR ??= os.tmpdir();
process.env.TMPDIR = workerTmp;
process.on('exit', () => fs.rmSync(workerTmp, { recursive: true, force: true }));

class HybridFleetTestEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.global[shared.GLOBAL_KEY] = shared.module;
    this.global[GUARD_RESULTS_KEY] = guardResults;
  }

  async teardown() {
    await super.teardown();
    for (const entry of fs.readdirSync(workerTmp)) fs.rmSync(path.join(workerTmp, entry), { recursive: true, force: true });
  }
}

module.exports = HybridFleetTestEnvironment;
