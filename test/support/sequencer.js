'use strict';
/*
 * The order jest runs the test files in (jest.config.js `testSequencer`), on 2 workers:
 *
 * 1. The two longest end-to-end files first (WAITING_FIRST). Most of their time is waiting, not computing: the SDK's
 *    adaptive retries back off after throttling, deadlines run out, handler processes answer. `npm test`
 *    (scripts/test.js) runs jest beside the jsii build and the type-check, which then use the cores these files leave
 *    idle; the two files last about as long as those steps.
 * 2. Then the longest files first, so that no worker idles at the end of the run, with the other end-to-end files
 *    (WAITING_BESIDE) each after one of the first of them: a worker that then waits does so beside one that computes.
 *    With all four end-to-end files first, both workers waited together for some 20 s once the check steps were done (a
 *    run's CPU use, sampled every 2 s, fell to 5–60 % there). jest knows durations from its cache of earlier runs; a
 *    fresh clone (CI) has none, and jest would then order by file size, which put a 60 s gate suite last. A file without
 *    a cached duration gets the duration it took in a full run on 2 cores (KNOWN_SECONDS, in seconds; files not listed:
 *    DEFAULT_SECONDS).
 *
 * The figures only order the run: stale ones cost time, not correctness.
 */
const path = require('path');
const Sequencer = require('@jest/test-sequencer').default;

const WAITING_FIRST = [
  'test/e2e/create-activation.e2e.test.ts',
  'test/e2e/janitor.e2e.test.ts',
];
const WAITING_BESIDE = [
  'test/e2e/tag-node.e2e.test.ts',
  'test/e2e/compliance-metrics.e2e.test.ts',
];

const KNOWN_SECONDS = {
  'test/boot/linux-boot-script.test.ts': 30,
  'test/gates/example-app.test.ts': 27,
  'test/installer/install-agent-linux.test.ts': 26,
  'test/fleet/hybrid-fleet-member.test.ts': 21,
  'test/gates/pipeline-app.test.ts': 21,
  'test/fleet/hybrid-fleet.test.ts': 18,
  'test/activation/hybrid-activation-api.test.ts': 16,
  'test/inventory/inventory-query-layer.test.ts': 13,
  'test/boot/linux-boot-script-signing.test.ts': 12,
  'test/gates/explicit-env.test.ts': 10,
  'test/gates/control-tower-guard.test.ts': 7,
  'test/compliance/remediate-node-runbook.test.ts': 7,
  'test/fleet/hybrid-fleet-central.test.ts': 7,
  'test/inventory/inventory-bucket.test.ts': 6,
  'test/patching/stopped-instance-patching.test.ts': 5,
  'test/compliance/fleet-compliance.test.ts': 5,
  'test/installer/agent-installer.test.ts': 4,
  'test/fleet/fleet-stack-set-member.test.ts': 4,
  'test/patching/maintenance-window.test.ts': 4,
  'test/private/quota-guard.test.ts': 4,
};
const DEFAULT_SECONDS = 3;
const root = path.join(__dirname, '..', '..');
const relative = (test) => path.relative(root, test.path).split(path.sep).join('/');

class WaitingThenLongestFirstSequencer extends Sequencer {
  time(test) {
    const cached = super.time(test);
    if (cached != null) return cached;
    return (KNOWN_SECONDS[relative(test)] ?? DEFAULT_SECONDS) * 1000;
  }

  sort(tests) {
    for (const test of tests) test.duration = this.time(test);
    const listed = (list) => list.flatMap((file) => tests.filter((test) => relative(test) === file));
    const first = listed(WAITING_FIRST);
    const beside = listed(WAITING_BESIDE);
    const rest = tests.filter((test) => !first.includes(test) && !beside.includes(test))
      .sort((a, b) => this.time(b) - this.time(a) || (a.path < b.path ? -1 : 1));
    return [...first, ...rest.flatMap((test, i) => (i < beside.length ? [test, beside[i]] : [test])), ...beside.slice(rest.length)];
  }
}

module.exports = WaitingThenLongestFirstSequencer;
