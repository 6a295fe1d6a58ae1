#!/usr/bin/env node
// Type-checks what `tsc --noEmit` would check for tsconfig.dev.json (lib, tests, bin, scripts) plus the README's `ts`
// snippets (check-readme.js), then lambda/tsconfig.json (the handlers, with their own globals), with TypeScript 7's
// native compiler (the `typescript-7` alias in package.json). The classic compiler (`typescript`, 5.9) took some 20 s
// of CPU over the same programs, in one process; this one takes about 6 s. The snippets join the tests' program, so
// lib and aws-cdk-lib's declarations are loaded once for both, and keep the leniency on unused names of a snippet.
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');
const { readmeSnippets, writeSnippetProject, reportSnippetErrors } = require('./check-readme');

const root = path.join(__dirname, '..');
const TSC = path.join(path.dirname(require.resolve('typescript-7/package.json')), 'bin', 'tsc');

/** Diagnostic codes of unused names (noUnusedLocals/noUnusedParameters), which a README snippet may have. */
const UNUSED = new Set([6133, 6138, 6192, 6196, 6198, 6199, 6205]);

/**
 * Runs the compiler over one project (`--noEmit`, plain output, one thread: the other lanes of `npm test` and jest use
 * the cores) and returns its diagnostics: `{ file, line, code, message, text }`, `file` absolute (undefined for a
 * diagnostic of no file), `text` as the compiler printed it (the first line and its indented continuation lines).
 */
function compile(project) {
  const result = spawnSync(process.execPath, [TSC, '--project', project, '--noEmit', '--pretty', 'false', '--singleThreaded'], {
    cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  const diagnostics = [];
  for (const line of `${result.stdout}${result.stderr}`.split('\n')) {
    const located = /^(.+)\((\d+),\d+\): error TS(\d+): (.*)$/.exec(line);
    const general = located ? null : /^error TS(\d+): (.*)$/.exec(line);
    if (located) {
      diagnostics.push({ file: path.resolve(root, located[1]), line: Number(located[2]), code: Number(located[3]), message: located[4], text: line });
    } else if (general) {
      diagnostics.push({ file: undefined, line: 0, code: Number(general[1]), message: general[2], text: line });
    } else if (/^\s/.test(line) && diagnostics.length > 0) {
      const last = diagnostics[diagnostics.length - 1];
      last.message += `\n${line}`;
      last.text += `\n${line}`;
    }
  }
  // A failure that printed no diagnostic (a bad flag, a crash) must not pass.
  if (result.status !== 0 && diagnostics.length === 0) {
    diagnostics.push({ file: undefined, line: 0, code: 0, message: '', text: `tsc exited with ${result.status ?? result.signal}\n${result.stdout}${result.stderr}`.trimEnd() });
  }
  return diagnostics;
}

/** Prints a project's diagnostics (a snippet's by README line, its unused names left out); returns how many count. */
function report(name, diagnostics, files = new Map()) {
  const snippetErrors = diagnostics.filter((d) => files.has(d.file) && !UNUSED.has(d.code));
  const others = diagnostics.filter((d) => !files.has(d.file));
  for (const d of others) process.stderr.write(`${d.text}\n`);
  process.stdout.write(`${name}: ${others.length} error(s)\n`);
  if (files.size > 0) reportSnippetErrors(snippetErrors, files);
  return others.length + snippetErrors.length;
}

/** The README snippets alone (`npm run check:readme`); resolves to whether they type-check. */
function checkReadme() {
  const files = readmeSnippets();
  return report('README snippets', compile(writeSnippetProject(files)), files) === 0;
}

function main() {
  // tsconfig.dev.json's own files, and the snippets, in one program.
  const files = readmeSnippets();
  const dev = require(path.join(root, 'tsconfig.dev.json'));
  const project = writeSnippetProject(files, dev.include.map((pattern) => path.join(root, pattern)));
  const errors = report('tsconfig.dev.json', compile(project), files)
    + report('lambda/tsconfig.json', compile(path.join(root, 'lambda', 'tsconfig.json')));
  if (errors > 0) process.exitCode = 1;
}

module.exports = { checkReadme, compile, report };

if (require.main === module) main();
