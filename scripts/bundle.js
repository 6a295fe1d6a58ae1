#!/usr/bin/env node
// Prebundles every Lambda handler `lambda/<name>/index.ts` into `assets/<name>/index.js`.
// Consumers of the package get these bundles and never run esbuild or Docker. The esbuild target is derived from the
// one Lambda runtime constant, HANDLER_RUNTIME in lib/private/handler-code.ts (test/private/handler-code.test.ts
// checks both agree).
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');

/** The esbuild target (`node24`) of the runtime `HANDLER_RUNTIME = lambda.Runtime.NODEJS_24_X` names. */
function bundleTarget() {
  const source = fs.readFileSync(path.join(root, 'lib', 'private', 'handler-code.ts'), 'utf8');
  const match = /export const HANDLER_RUNTIME = lambda\.Runtime\.NODEJS_(\d+)_X;/.exec(source);
  if (!match) throw new Error('lib/private/handler-code.ts must define HANDLER_RUNTIME = lambda.Runtime.NODEJS_<major>_X');
  return `node${match[1]}`;
}
module.exports = { bundleTarget };
if (require.main !== module) return;

const esbuild = require('esbuild');
const lambdaDir = path.join(root, 'lambda');
const entries = fs
  .readdirSync(lambdaDir, { withFileTypes: true })
  .filter((d) => d.isDirectory() && fs.existsSync(path.join(lambdaDir, d.name, 'index.ts')))
  .map((d) => d.name);

const result = esbuild.buildSync({
  entryPoints: Object.fromEntries(entries.map((name) => [`${name}/index`, path.join(lambdaDir, name, 'index.ts')])),
  outdir: path.join(root, 'assets'),
  bundle: true,
  platform: 'node',
  target: bundleTarget(),
  format: 'cjs',
  // Prefer the SDK's ES module builds: esbuild can tree-shake them (the bundle shrinks from ~630 KiB to ~375 KiB and
  // its cold init drops below that of `require('@aws-sdk/client-ssm')` itself).
  mainFields: ['module', 'main'],
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
});
for (const [file, out] of Object.entries(result.metafile.outputs)) {
  process.stdout.write(`bundled ${file} (${(out.bytes / 1024).toFixed(1)} KiB)\n`);
}
