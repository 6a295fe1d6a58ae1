#!/usr/bin/env node
// Type-checks, in one process, what `tsc --noEmit` would check for tsconfig.dev.json (lib, tests, bin, scripts) and
// lambda/tsconfig.json (the handlers, with their own globals), plus the README's `ts` snippets (check-readme.js).
// One process instead of three: the snippets join the dev program (so lib and aws-cdk-lib's declarations are loaded
// and checked once for both, where a program of their own cost some 15 s of CPU), and the lambda program reuses the
// parsed declaration files of the first. The snippets keep check-readme.js's leniency on unused names.
'use strict';
const path = require('path');
const ts = require('typescript');
const { readmeSnippets, hostWith, reportSnippetErrors } = require('./check-readme');

const root = path.join(__dirname, '..');

/** Diagnostic codes of unused names (noUnusedLocals/noUnusedParameters), which a README snippet may have. */
const UNUSED = new Set([6133, 6138, 6192, 6196, 6198, 6199, 6205]);

function parsed(configFile) {
  const config = ts.getParsedCommandLineOfConfigFile(path.join(root, configFile), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (config.errors.length > 0) throw new Error(config.errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('\n'));
  return config;
}

/** Source files parsed by one program, reused by the next (same file, same language version: same AST). */
const parsedFiles = new Map();
function caching(host) {
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (file, languageVersion, onError, create) => {
    const key = `${file}\0${JSON.stringify(languageVersion)}`;
    if (!file.includes(`${path.sep}node_modules${path.sep}`)) return getSourceFile(file, languageVersion, onError, create);
    let source = parsedFiles.get(key);
    if (source === undefined) {
      source = getSourceFile(file, languageVersion, onError, create);
      parsedFiles.set(key, source);
    }
    return source;
  };
  return host;
}

const format = {
  getCanonicalFileName: (f) => f,
  getCurrentDirectory: () => root,
  getNewLine: () => '\n',
};

function check(name, program, isSnippet = () => false) {
  const all = ts.getPreEmitDiagnostics(program);
  const snippetErrors = all.filter((d) => d.file !== undefined && isSnippet(d.file.fileName) && !UNUSED.has(d.code));
  const others = all.filter((d) => d.file === undefined || !isSnippet(d.file.fileName));
  if (others.length > 0) process.stderr.write(ts.formatDiagnosticsWithColorAndContext(others, format));
  process.stdout.write(`${name}: ${others.length} error(s)\n`);
  return [others.length, snippetErrors];
}

function main() {
  const dev = parsed('tsconfig.dev.json');
  const { files: snippets, paths } = readmeSnippets();
  const devOptions = { ...dev.options, paths: { ...dev.options.paths, ...paths } };
  const devProgram = ts.createProgram({
    rootNames: [...dev.fileNames, ...snippets.keys()],
    options: devOptions,
    host: caching(hostWith(devOptions, snippets)),
    projectReferences: dev.projectReferences,
  });
  const [devErrors, snippetErrors] = check('tsconfig.dev.json', devProgram, (f) => snippets.has(f));
  reportSnippetErrors(snippetErrors, snippets);

  const lambda = parsed('lambda/tsconfig.json');
  const lambdaProgram = ts.createProgram({ rootNames: lambda.fileNames, options: lambda.options, host: caching(ts.createCompilerHost(lambda.options)) });
  const [lambdaErrors] = check('lambda/tsconfig.json', lambdaProgram);

  if (devErrors + snippetErrors.length + lambdaErrors > 0) process.exitCode = 1;
}

main();
