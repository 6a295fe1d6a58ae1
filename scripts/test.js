#!/usr/bin/env node
// `npm test`, what CI runs: the bundle, then `npm run check`'s two lanes (jsii → API.md drift check; the type-check of
// lib, tests, bin, scripts, handlers and README snippets) side by side with jest. jest reads neither the jsii output
// nor API.md (it runs the TypeScript sources, transpiled by esbuild), only the bundles in assets/. Run one after the other
// (`npm run check && npm run test:fast`), the check took about 40 s of a 2-core runner before jest started, while jest
// leaves a core idle whenever a test waits (an SDK backoff, a deadline, a child process): side by side, the check
// fills those waits. jest's output streams as it runs; each check step's output is printed when the step ends. The
// command fails when any step or test fails.
'use strict';
const { spawn } = require('child_process');
const path = require('path');
const { bundle, lanes, node, root, env } = require('./check');

/** Runs jest with the arguments given to this script; resolves to whether it passed. */
function jest(args) {
  return new Promise((resolve) => {
    const child = spawn(...node(path.join(root, 'node_modules', 'jest', 'bin', 'jest.js'), args), { cwd: root, env, stdio: 'inherit' });
    child.on('error', (err) => {
      process.stderr.write(`jest: ${err.message}\n`);
      resolve(false);
    });
    child.on('close', (code) => resolve(code === 0));
  });
}

async function main() {
  // `npm run test:fast`: jest alone, on the tree as it is, with the same node flags.
  if (process.argv[2] === '--jest-only') {
    if (!(await jest(process.argv.slice(3)))) process.exitCode = 1;
    return;
  }
  if (!(await bundle())) {
    process.exitCode = 1;
    return;
  }
  const results = await Promise.all([...lanes(), jest(process.argv.slice(2))]);
  if (results.includes(false)) process.exitCode = 1;
}

main();
