'use strict';
/*
 * jest's transform of TypeScript (jest.config.js `transform`): each file is transpiled on its own with esbuild, as
 * scripts/ts-register.js does for the example app and the scripts, with a source map for jest's stack traces and no
 * type-checking (the type-check of lib, tests, bin and scripts is its own step of `npm test`: scripts/typecheck.js).
 *
 * tsconfig.dev.json sets `isolatedModules`, so every file can be transpiled alone, which is all ts-jest did here too
 * (it reads `isolatedModules` from the tsconfig and then only transpiles), but it loaded the TypeScript compiler into
 * each worker, and on a clone with no jest cache, as CI's, every file of lib is transpiled at the start of the run.
 * With a cold cache the patching and inventory test files took 63 s of CPU with this transform, 71 s with ts-jest.
 *
 * Unlike ts-jest, nothing here hoists `jest.mock()` calls above the imports: the tests mock no module (they spy on
 * objects). A test that needs a module mock calls `jest.doMock()` before it requires the module.
 */
const { createHash } = require('crypto');
const esbuild = require('esbuild');

const TARGET = 'node20';
const OPTIONS = {
  loader: 'ts',
  format: 'cjs',
  target: TARGET,
  sourcemap: 'external',
  // The class-field semantics of tsconfig.json's target (es2022): fields are defined, as TypeScript emits them.
  tsconfigRaw: { compilerOptions: { useDefineForClassFields: true } },
};
const VERSION_KEY = JSON.stringify({ esbuild: esbuild.version, options: OPTIONS, transform: 2 });

module.exports = {
  canInstrument: false,

  getCacheKey(source, filename) {
    return createHash('sha256').update(VERSION_KEY).update('\0').update(filename).update('\0').update(source).digest('hex');
  },

  process(source, filename) {
    const { code, map } = esbuild.transformSync(source, { ...OPTIONS, sourcefile: filename });
    return { code, map };
  },
};
