import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

interface Diagnostic { file?: string; line: number; code: number; message: string; text: string }
interface Snippet { text: string; offset: number; readmeLine: number }
const { compile, report } = require('../../scripts/typecheck') as {
  compile(project: string): Diagnostic[];
  report(name: string, diagnostics: Diagnostic[], files?: Map<string, Snippet>): number;
};

/** A project in a temporary directory: `files` by name, a tsconfig.json with strict checks that lists them. */
function project(files: Record<string, string>): { dir: string; config: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'typecheck-'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  const config = path.join(dir, 'tsconfig.json');
  fs.writeFileSync(config, JSON.stringify({
    compilerOptions: { strict: true, noUnusedLocals: true, noEmit: true, types: [], target: 'es2022', lib: ['es2022'] },
    files: Object.keys(files),
  }));
  return { dir, config };
}

const BROKEN = [
  'export const count: number = "three";',
  'export function f(): void {',
  '  const unused = 1;',
  '}',
  'interface Shape { size: { width: number } }',
  'const value = { size: { width: "wide" } };',
  'export const shape: Shape = value;',
  '',
].join('\n');

test('compile() returns each error with its absolute file, line, code and whole message', () => {
  const { dir, config } = project({ 'broken.ts': BROKEN, 'clean.ts': 'export const fine: number = 1;\n' });
  const diagnostics = compile(config);
  const file = path.join(dir, 'broken.ts');
  expect(diagnostics.map(({ file: f, line, code }) => ({ file: f, line, code }))).toEqual([
    { file, line: 1, code: 2322 },
    { file, line: 3, code: 6133 },
    { file, line: 7, code: 2322 },
  ]);
  expect(diagnostics[0].message).toBe("Type 'string' is not assignable to type 'number'.");
  // An elaborated message keeps its indented continuation lines.
  expect(diagnostics[2].text.split('\n').length).toBeGreaterThan(1);
  expect(diagnostics[2].text).toMatch(/^.*broken\.ts\(7,\d+\): error TS2322: /);
});

test('compile() of a clean project returns nothing, and of a missing one an error', () => {
  const { config } = project({ 'clean.ts': 'export const fine: number = 1;\n' });
  expect(compile(config)).toEqual([]);
  const missing = compile(path.join(os.tmpdir(), 'no-such-dir', 'tsconfig.json'));
  expect(missing).toHaveLength(1);
  expect(missing[0].file).toBeUndefined();
});

test('report() names the README line of a snippet error and lets a snippet leave names unused', () => {
  const { dir, config } = project({ 'snippet.ts': BROKEN });
  const file = path.join(dir, 'snippet.ts');
  const written: string[] = [];
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => { written.push(String(chunk)); return true; });
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    const count = report('snippets', compile(config), new Map([[file, { text: BROKEN, offset: 40, readmeLine: 41 }]]));
    expect(count).toBe(2);
  } finally {
    stderr.mockRestore();
    stdout.mockRestore();
  }
  expect(written[0]).toBe("README.md:41: Type 'string' is not assignable to type 'number'.\n");
  expect(written[1]).toMatch(/^README\.md:47: Type '\{ size: \{ width: string; \}; \}' is not assignable to type 'Shape'\.\n +The types of 'size\.width' are incompatible/);
  expect(written.join('')).not.toMatch(/unused/);
  expect(written[written.length - 1]).toBe("2 error(s) in the README's ts snippets\n");
});

test('report() prints and counts every error of a file that is not a snippet', () => {
  const { config } = project({ 'broken.ts': BROKEN });
  const written: string[] = [];
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => { written.push(String(chunk)); return true; });
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    expect(report('project', compile(config))).toBe(3);
  } finally {
    stderr.mockRestore();
    stdout.mockRestore();
  }
  expect(written).toHaveLength(3);
  expect(written[1]).toMatch(/error TS6133: 'unused' is declared but its value is never read\./);
});
