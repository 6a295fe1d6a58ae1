#!/usr/bin/env node
// `npm test`, what CI runs: the bundle, then, side by side,
// - `npm run check`'s two lanes (jsii → API.md drift check; the type-check of lib, tests, bin, scripts, handlers and
//   README snippets). jest reads neither the jsii output nor API.md (it runs the TypeScript sources, transpiled by
//   esbuild), only the bundles in assets/, so it need not wait for them;
// - jest over the end-to-end files (test/e2e), in a process of its own, one file after the other;
// - jest over every other file, on 2 workers.
// The end-to-end files mostly wait (SDK backoffs after throttling, deadlines, handler processes): about 100 s of a
// run for about 35 s of CPU. Run on jest's two workers, a worker waiting in them left a core idle once the check lanes
// were done (a run's CPU use, sampled every 2 s, stayed at 60–75 % for some 50 s). In a process of their own they wait
// beside the computing files instead. They also time what the handlers do (a deadline met, a retry cut short), so they
// run at normal priority and everything else, which only computes, under `nice -n 10`: a waiting test that wakes gets
// a core at once.
// jest's output for the other files streams as it runs; the output of the end-to-end run and of each check step is
// printed when it ends. The command fails when any step or test fails.
//
// With arguments (`npm test -- test/patching`), the bundle and the lanes run as above and one jest runs with those
// arguments, at normal priority.
'use strict';
const { spawn } = require('child_process');
const { bin, bundle, lanes, root, env, run } = require('./check');

const E2E = 'test/e2e';
const NICENESS = 10;

/** Runs jest with these arguments, its output streamed (under `nice` with `niceness`); resolves to whether it passed. */
function jest(args, niceness) {
  return new Promise((resolve) => {
    const [file, argv] = niceness === undefined ? [bin('jest'), args] : ['nice', ['-n', String(niceness), bin('jest'), ...args]];
    const child = spawn(file, argv, { cwd: root, env, stdio: 'inherit' });
    child.on('error', (err) => {
      process.stderr.write(`jest: ${err.message}\n`);
      resolve(false);
    });
    child.on('close', (code) => resolve(code === 0));
  });
}

async function main() {
  if (!(await bundle())) {
    process.exitCode = 1;
    return;
  }
  const args = process.argv.slice(2);
  const runs = args.length > 0 ? [...lanes(), jest(args)] : [
    ...lanes(NICENESS),
    jest(['--testPathIgnorePatterns', `/${E2E}/`], NICENESS),
    run('jest, end-to-end files', bin('jest'), ['--runInBand', `${E2E}/`]),
  ];
  const results = await Promise.all(runs);
  if (results.includes(false)) process.exitCode = 1;
}

main();
