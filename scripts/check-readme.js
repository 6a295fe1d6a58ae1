#!/usr/bin/env node
// Type-checks the README's `ts` snippets against the library's sources (lib/index.ts as `cdk-ssm-hybrid-fleet`), in
// one TypeScript program, and fails naming the README line of each error. A snippet that imports anything but this
// library is a complete program and is checked as it stands; any other snippet goes into rosetta/default.ts-fixture
// (inside a stack's constructor, with the library's exports and a few declared roles in scope), its imports hoisted.
// Why not `jsii-rosetta extract`: it reads the README from the compiled assembly (.jsii), so it needs the jsii build
// first, and it compiles each snippet on its own; this check needs neither and runs in seconds.
'use strict';
const fs = require('fs');
const path = require('path');
const ts = require('typescript');

const root = path.join(__dirname, '..');
const LIBRARY = 'cdk-ssm-hybrid-fleet';

/** The ```ts blocks of a Markdown text: `{ line, code }`, `line` being the 1-based line of the first code line. */
function snippets(markdown) {
  const found = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i])) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end])) end++;
    found.push({ line: start + 1, code: lines.slice(start, end) });
    i = end;
  }
  return found;
}

/** Names a snippet's own import lines bind (named imports only; that is what the README uses). */
function importedNames(importLines) {
  return importLines.flatMap((l) => (/\{([^}]*)\}/.exec(l)?.[1] ?? '').split(',').map((n) => n.trim().split(/\s+as\s+/).pop()).filter(Boolean));
}

/**
 * The names a module exports, read syntactically (following `export * from`): a type checker over the library would
 * cost seconds more than the whole check.
 */
function exportedNames(file, seen = new Set()) {
  if (seen.has(file)) return [];
  seen.add(file);
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, false);
  const names = [];
  for (const node of source.statements) {
    if (ts.isExportDeclaration(node) && node.moduleSpecifier && !node.isTypeOnly) {
      const target = path.resolve(path.dirname(file), node.moduleSpecifier.text);
      const resolved = fs.existsSync(`${target}.ts`) ? `${target}.ts` : path.join(target, 'index.ts');
      if (!node.exportClause) names.push(...exportedNames(resolved, seen));
      else if (ts.isNamedExports(node.exportClause)) names.push(...node.exportClause.elements.map((e) => e.name.text));
    } else if (ts.canHaveModifiers(node) && ts.getModifiers(node)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) {
      if (node.name && ts.isIdentifier(node.name)) names.push(node.name.text);
      if (ts.isVariableStatement(node)) names.push(...node.declarationList.declarations.map((d) => d.name.getText(source)));
    }
  }
  return [...new Set(names)];
}

/** The compiler options the snippets are checked with when this script runs on its own. */
const OPTIONS = {
  strict: true, noEmit: true, skipLibCheck: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS,
  moduleResolution: ts.ModuleResolutionKind.Node10, esModuleInterop: true, types: ['node'],
  noUnusedLocals: false, paths: { [LIBRARY]: [path.join(root, 'lib', 'index.ts')] },
};

/**
 * The README's `ts` snippets as virtual files (`<root>/.readme-snippet-<n>.ts` → `{ text, offset, readmeLine }`; the
 * README line of a file line is `line + offset`), and the `paths` entry that maps the library to its sources.
 */
function readmeSnippets() {
  const readmePath = path.join(root, 'README.md');
  const blocks = snippets(fs.readFileSync(readmePath, 'utf8'));
  const fixture = fs.readFileSync(path.join(root, 'rosetta', 'default.ts-fixture'), 'utf8').split('\n');
  const libExports = exportedNames(path.join(root, 'lib', 'index.ts'));

  const files = new Map(); // virtual file → { text, offset, readmeLine }
  blocks.forEach((block, n) => {
    const file = path.join(root, `.readme-snippet-${n + 1}.ts`);
    const imports = block.code.filter((l) => /^import /.test(l));
    const complete = imports.some((l) => !l.includes(`'${LIBRARY}'`));
    let text;
    let offset; // README line = file line + offset
    if (complete) {
      text = block.code.join('\n');
      offset = block.line - 1;
    } else {
      const own = new Set(importedNames(imports));
      const libImport = `import { ${libExports.filter((e) => !own.has(e)).join(', ')} } from '${LIBRARY}';`;
      const body = block.code.filter((l) => !/^import /.test(l));
      const head = fixture.slice(0, fixture.indexOf('/// imports'));
      const middle = fixture.slice(fixture.indexOf('/// imports') + 1, fixture.indexOf('    /// here'));
      const tail = fixture.slice(fixture.indexOf('    /// here') + 1);
      const lines = [...head, ...imports, libImport, ...middle, ...body, ...tail];
      text = lines.join('\n');
      // Body lines follow the imports in the README (imports come first in every snippet).
      offset = block.line + imports.length - (head.length + imports.length + 1 + middle.length) - 1;
    }
    files.set(file, { text, offset, readmeLine: block.line });
  });
  return { files, paths: OPTIONS.paths };
}

/** A compiler host that also serves the virtual files `files` (from {@link readmeSnippets}). */
function hostWith(options, files) {
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (f) => (files.has(f) ? files.get(f).text : readFile(f));
  host.fileExists = (f) => files.has(f) || fileExists(f);
  host.getSourceFile = (f, lang, onError, create) =>
    files.has(f) ? ts.createSourceFile(f, files.get(f).text, lang, true) : getSourceFile(f, lang, onError, create);
  return host;
}

/** Writes each diagnostic of a snippet file as `README.md:<line>: <message>`. */
function reportSnippetErrors(errors, files) {
  for (const d of errors) {
    const { line } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
    const where = files.get(d.file.fileName);
    const readmeLine = line + 1 + where.offset;
    process.stderr.write(`README.md:${readmeLine}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}\n`);
  }
  if (errors.length > 0) process.stderr.write(`${errors.length} error(s) in the README's ts snippets\n`);
  else process.stdout.write(`README.md: ${files.size} ts snippets type-check\n`);
}

function main() {
  const { files } = readmeSnippets();
  const program = ts.createProgram([...files.keys()], OPTIONS, hostWith(OPTIONS, files));
  const errors = [...files.keys()].flatMap((f) => [...program.getSyntacticDiagnostics(program.getSourceFile(f)), ...program.getSemanticDiagnostics(program.getSourceFile(f))]);
  reportSnippetErrors(errors, files);
  if (errors.length > 0) process.exitCode = 1;
}

module.exports = { readmeSnippets, hostWith, reportSnippetErrors };

if (require.main === module) main();
