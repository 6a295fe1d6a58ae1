#!/usr/bin/env node
// `npm run check`: everything `npm test` checks before jest. The bundle first (jest's e2e tests run it), then two lanes
// at once, as a CI runner has two cores and each step uses one: the jsii build then the API.md drift check, and the
// type-check of lib, tests, bin, scripts, handlers and README snippets (scripts/typecheck.js). Each step's output is
// printed when it ends; the check fails when any step fails.
'use strict';
const { spawn } = require('child_process');
const path = require('path');

const root = path.join(__dirname, '..');

/**
 * The V8 flags of every node process `npm test` starts: jest passes them on to its workers (they inherit its
 * `execArgv`), and check-api-md.js to jsii-docgen. `--single-threaded-gc`: V8 collects garbage on the process's main
 * thread instead of also on helper threads. On the 2-core CI machine those threads only took cores from the other
 * processes, and cost more than they saved: three test files (hybrid-fleet, explicit-env, patching) ran in 28.9 s of
 * wall time and 55 s of CPU with the flag, against 34.8 s and 66 s without (medians of 3 runs each, in turn).
 */
const NODE_FLAGS = ['--single-threaded-gc'];

/** The command line that runs the node script `file` with {@link NODE_FLAGS}. */
const node = (file, args = []) => [process.execPath, [...NODE_FLAGS, file, ...args]];
/**
 * glibc's allocator settings for every process `npm test` starts (node, and the bash, Python and tools the tests run;
 * other C libraries ignore them). On the CI machine, a virtual machine, the kernel's work of mapping and unmapping memory
 * was a third of the run's CPU. So: allocations up to 64 MiB come from the heap instead of a mapping of their own
 * (`mmap_threshold`), freed memory is kept for reuse instead of being handed back (`trim_threshold`, `top_pad`), and
 * the heap asks for transparent huge pages (`hugetlb=1`), one fault per 2 MiB instead of per 4 KiB. `npm test` took
 * 179 s and 175 s of wall time and 295 s and 289 s of CPU with them, against 193 s and 185 s, 317 s and 314 s without
 * (runs in turn, in place); on fresh clones (`.ci/run`) two pairs were inconclusive (README, "What keeps the suite
 * fast"). A GLIBC_TUNABLES of the caller's own comes after these, so its values win.
 */
const GLIBC_TUNABLES = [
  'glibc.malloc.mmap_threshold=67108864',
  'glibc.malloc.trim_threshold=268435456',
  'glibc.malloc.top_pad=67108864',
  'glibc.malloc.hugetlb=1',
].join(':');

const env = {
  ...process.env,
  JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: '20',
  GLIBC_TUNABLES: [GLIBC_TUNABLES, process.env.GLIBC_TUNABLES].filter(Boolean).join(':'),
};

/** Runs one step, its output collected; resolves to whether it succeeded. */
function run(name, command, args) {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = [];
    child.stdout.on('data', (c) => output.push(c));
    child.stderr.on('data', (c) => output.push(c));
    child.on('error', (err) => output.push(Buffer.from(`${err.message}\n`)));
    child.on('close', (code, signal) => {
      const ok = code === 0;
      const text = Buffer.concat(output).toString('utf8').trimEnd();
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      process.stdout.write(`> ${name}: ${ok ? 'ok' : `FAILED (${code ?? signal})`} in ${seconds} s\n${text ? `${text}\n` : ''}`);
      resolve(ok);
    });
  });
}

/** Runs steps one after the other, stopping at the first failure. */
async function lane(...steps) {
  for (const step of steps) if (!(await step())) return false;
  return true;
}

/** The bundle step: jest's e2e tests and the jsii build both read `assets/`. */
function bundle() {
  return run('bundle', ...node(path.join(root, 'scripts', 'bundle.js')));
}

/** The two lanes after the bundle: the jsii build then the API.md drift check, and the type-check. */
function lanes() {
  return [
    lane(
      () => run('jsii', ...node(path.join(root, 'node_modules', 'jsii', 'bin', 'jsii'))),
      () => run('API.md drift', ...node(path.join(root, 'scripts', 'check-api-md.js'))),
    ),
    lane(() => run('type-check (lib, tests, bin, scripts, lambda, README snippets)', ...node(path.join(root, 'scripts', 'typecheck.js')))),
  ];
}

async function main() {
  const bundled = await bundle();
  const results = await Promise.all(lanes());
  if (!bundled || results.includes(false)) process.exitCode = 1;
}

if (require.main === module) main();

module.exports = { bundle, lanes, node, root, env };
