'use strict';
/*
 * The order jest runs the test files in (jest.config.js `testSequencer`), on 2 workers:
 *
 * - The longest files first, so that no worker idles at the end of the run. jest knows durations from its cache of
 *   earlier runs; a fresh clone (CI) has none, and jest would then order by file size, which put a 60 s gate suite
 *   last. A file without a cached duration gets the duration it took in a full run on 2 cores (KNOWN_SECONDS, in
 *   seconds; files not listed: DEFAULT_SECONDS).
 * - The end-to-end files (WAITING), when the run has them, each after one of the first of those: most of their time is
 *   waiting, not computing (the SDK's adaptive retries back off after throttling, deadlines run out, handler processes
 *   answer), and a worker that waits should do so beside one that computes. `npm test` runs them in a jest process of
 *   their own (scripts/test.js); this order is for jest alone (`npm run test:fast`).
 *
 * The figures only order the run: stale ones cost time, not correctness.
 */
const path = require('path');
const Sequencer = require('@jest/test-sequencer').default;

const WAITING = [
  'test/e2e/create-activation.e2e.test.ts',
  'test/e2e/janitor.e2e.test.ts',
  'test/e2e/tag-node.e2e.test.ts',
  'test/e2e/compliance-metrics.e2e.test.ts',
];

const KNOWN_SECONDS = {
  'test/gates/example-app.test.ts': 38,
  'test/fleet/hybrid-fleet.test.ts': 33,
  'test/fleet/hybrid-fleet-member.test.ts': 26,
  'test/gates/pipeline-app.test.ts': 24,
  'test/boot/linux-boot-script.test.ts': 23,
  'test/installer/install-agent-linux.test.ts': 23,
  'test/inventory/inventory-query-layer.test.ts': 17,
  'test/gates/control-tower-guard.test.ts': 15,
  'test/gates/explicit-env.test.ts': 10,
  'test/boot/linux-boot-script-signing.test.ts': 9,
  'test/activation/hybrid-activation-api.test.ts': 9,
  'test/fleet/hybrid-fleet-central.test.ts': 8,
  'test/inventory/inventory-bucket.test.ts': 7,
  'test/patching/stopped-instance-patching.test.ts': 7,
  'test/compliance/remediate-node-runbook.test.ts': 7,
  'test/installer/agent-installer.test.ts': 7,
  'test/compliance/fleet-compliance.test.ts': 6,
  'test/fleet/fleet-stack-set-member.test.ts': 5,
  'test/patching/maintenance-window.test.ts': 5,
  'test/private/quota-guard.test.ts': 5,
};
const DEFAULT_SECONDS = 3;
const root = path.join(__dirname, '..', '..');
const relative = (test) => path.relative(root, test.path).split(path.sep).join('/');

class LongestFirstSequencer extends Sequencer {
  time(test) {
    const cached = super.time(test);
    if (cached != null) return cached;
    return (KNOWN_SECONDS[relative(test)] ?? DEFAULT_SECONDS) * 1000;
  }

  sort(tests) {
    for (const test of tests) test.duration = this.time(test);
    const waiting = WAITING.flatMap((file) => tests.filter((test) => relative(test) === file));
    const rest = tests.filter((test) => !waiting.includes(test))
      .sort((a, b) => this.time(b) - this.time(a) || (a.path < b.path ? -1 : 1));
    return [...rest.flatMap((test, i) => (i < waiting.length ? [test, waiting[i]] : [test])), ...waiting.slice(rest.length)];
  }
}

module.exports = LongestFirstSequencer;
