#!/usr/bin/env node
// `npm run check`: everything `npm test` checks before jest. The bundle first (jest's e2e tests run it), then two lanes
// at once, as a CI runner has two cores and each step uses one: the jsii build then the API.md drift check, and the
// type-check of lib, tests, bin, scripts, handlers and README snippets (scripts/typecheck.js). Each step's output is
// printed when it ends; the check fails when any step fails.
'use strict';
const { spawn } = require('child_process');
const path = require('path');

const root = path.join(__dirname, '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const env = { ...process.env, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: '20' };

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
  return run('bundle', process.execPath, [path.join(root, 'scripts', 'bundle.js')]);
}

/** The two lanes after the bundle: the jsii build then the API.md drift check, and the type-check. */
function lanes() {
  const node = process.execPath;
  return [
    lane(() => run('jsii', bin('jsii'), []), () => run('API.md drift', node, [path.join(root, 'scripts', 'check-api-md.js')])),
    lane(() => run('type-check (lib, tests, bin, scripts, lambda, README snippets)', node, [path.join(root, 'scripts', 'typecheck.js')])),
  ];
}

async function main() {
  const bundled = await bundle();
  const results = await Promise.all(lanes());
  if (!bundled || results.includes(false)) process.exitCode = 1;
}

if (require.main === module) main();

module.exports = { bin, bundle, lanes, root, env };
