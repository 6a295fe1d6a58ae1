'use strict';
/*
 * The order jest runs the test files in (jest.config.js `testSequencer`). jest runs the longest files first when its
 * cache holds their durations, to leave no worker idle at the end of the run; a fresh clone (CI) has no cache, and
 * jest then orders by file size, which put a 60 s gate suite last on 2 workers. Here a file without a cached duration
 * gets the duration it took in a full run on 2 cores (below, in seconds; files not listed: DEFAULT_SECONDS), so the
 * long ones start first on a fresh clone too. The figures only order the run: stale ones cost time, not correctness.
 */
const path = require('path');
const Sequencer = require('@jest/test-sequencer').default;

const KNOWN_SECONDS = {
  'test/gates/example-app.test.ts': 63,
  'test/e2e/create-activation.e2e.test.ts': 40,
  'test/boot/linux-boot-script.test.ts': 30,
  'test/gates/pipeline-app.test.ts': 30,
  'test/installer/install-agent-linux.test.ts': 27,
  'test/activation/hybrid-activation-api.test.ts': 26,
  'test/compliance/remediate-node-runbook.test.ts': 25,
  'test/e2e/janitor.e2e.test.ts': 24,
  'test/e2e/tag-node.e2e.test.ts': 20,
  'test/patching/maintenance-window.test.ts': 18,
  'test/e2e/compliance-metrics.e2e.test.ts': 13,
  'test/patching/stopped-instance-patching.test.ts': 12,
  'test/inventory/inventory-query-layer.test.ts': 12,
  'test/gates/explicit-env.test.ts': 10,
  'test/boot/linux-boot-script-signing.test.ts': 6,
  'test/compliance/fleet-compliance.test.ts': 6,
  'test/installer/agent-installer.test.ts': 6,
  'test/gates/control-tower-guard.test.ts': 5,
};
const DEFAULT_SECONDS = 3;
const root = path.join(__dirname, '..', '..');

class LongestFirstSequencer extends Sequencer {
  time(test) {
    const cached = super.time(test);
    if (cached != null) return cached;
    const relative = path.relative(root, test.path).split(path.sep).join('/');
    return (KNOWN_SECONDS[relative] ?? DEFAULT_SECONDS) * 1000;
  }
}

module.exports = LongestFirstSequencer;
