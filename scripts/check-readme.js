#!/usr/bin/env node
// Type-checks the README's `ts` snippets against the library's sources (lib/index.ts as `cdk-ssm-hybrid-fleet`), in
// one TypeScript program, and fails naming the README line of each error. A snippet that imports anything but this
// library is a complete program and is checked as it stands; any other snippet goes into rosetta/default.ts-fixture
// (inside a stack's constructor, with the library's exports and a few declared roles in scope), its imports hoisted.
// The snippets are written as files to node_modules/.cache/readme-snippets/ and checked by scripts/typecheck.js's
// compiler (TypeScript 7) with tsconfig.dev.json's options; `npm test` checks them in the same program as the tests.
// Why not `jsii-rosetta extract`: it reads the README from the compiled assembly (.jsii), so it needs the jsii build
// first, and it compiles each snippet on its own; this check needs neither and runs in seconds.
'use strict';
const fs = require('fs');
const path = require('path');
const ts = require('typescript');

const root = path.join(__dirname, '..');
const LIBRARY = 'cdk-ssm-hybrid-fleet';
/** Where the snippet files and their tsconfig.json are written (ignored by git; resolution finds node_modules above). */
const SNIPPET_DIR = path.join(root, 'node_modules', '.cache', 'readme-snippets');

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

/**
 * The README's `ts` snippets as files to write: `<SNIPPET_DIR>/readme-snippet-<n>.ts` → `{ text, offset, readmeLine }`,
 * the README line of a file line being `line + offset`.
 */
function readmeSnippets() {
  const readmePath = path.join(root, 'README.md');
  const blocks = snippets(fs.readFileSync(readmePath, 'utf8'));
  const fixture = fs.readFileSync(path.join(root, 'rosetta', 'default.ts-fixture'), 'utf8').split('\n');
  const libExports = exportedNames(path.join(root, 'lib', 'index.ts'));

  const files = new Map(); // file → { text, offset, readmeLine }
  blocks.forEach((block, n) => {
    const file = path.join(SNIPPET_DIR, `readme-snippet-${n + 1}.ts`);
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
  return files;
}

/**
 * Writes the snippets (a fresh SNIPPET_DIR) and a tsconfig.json there that extends tsconfig.dev.json, maps the library
 * to its sources and includes the snippet files plus `include` (absolute patterns); returns that config's path.
 */
function writeSnippetProject(files, include = []) {
  fs.rmSync(SNIPPET_DIR, { recursive: true, force: true });
  fs.mkdirSync(SNIPPET_DIR, { recursive: true });
  for (const [file, { text }] of files) fs.writeFileSync(file, text);
  const config = path.join(SNIPPET_DIR, 'tsconfig.json');
  fs.writeFileSync(config, `${JSON.stringify({
    extends: path.join(root, 'tsconfig.dev.json'),
    compilerOptions: { paths: { [LIBRARY]: [path.join(root, 'lib', 'index.ts')] } },
    include: [...include, path.join(SNIPPET_DIR, '*.ts')],
    exclude: [path.join(root, 'lib', '**', '*.d.ts')],
  }, undefined, 2)}\n`);
  return config;
}

/** Writes each diagnostic of a snippet file (`{ file, line, message }`, 1-based line) as `README.md:<line>: <message>`. */
function reportSnippetErrors(errors, files) {
  for (const d of errors) process.stderr.write(`README.md:${d.line + files.get(d.file).offset}: ${d.message}\n`);
  if (errors.length > 0) process.stderr.write(`${errors.length} error(s) in the README's ts snippets\n`);
  else process.stdout.write(`README.md: ${files.size} ts snippets type-check\n`);
}

// `npm run check:readme`: the snippets alone, with the compiler and rules of `npm run typecheck`.
function main() {
  if (!require('./typecheck').checkReadme()) process.exitCode = 1;
}

module.exports = { readmeSnippets, writeSnippetProject, reportSnippetErrors };

if (require.main === module) main();
