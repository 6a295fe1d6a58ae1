import * as fs from 'fs';
import * as path from 'path';

/** The `documents/` folder of the package (valid from `lib/private` as .ts and as compiled .js). */
export const DOCUMENTS_DIR = path.join(__dirname, '..', '..', 'documents');

// A line that holds only `#include <file>` (inside a YAML block scalar) is replaced by that file, indented in place.
const INCLUDE = /^([ \t]*)#include ([\w.-]+)[ \t]*$/gm;

/**
 * The text of a document under `documents/` (e.g. `readDocument('compliance', 'remediate-node.yaml')`), with every
 * `#include <file>` line replaced by the file next to it, each line indented like the directive. This keeps step
 * scripts in their own files (linted and run by the tests) while the runbook carries them inline, as
 * `aws:executeScript` requires without attachments.
 */
export function readDocument(...segments: string[]): string {
  const file = path.join(DOCUMENTS_DIR, ...segments);
  const dir = path.dirname(file);
  return fs.readFileSync(file, 'utf8').replace(INCLUDE, (_line, indent: string, name: string) =>
    fs
      .readFileSync(path.join(dir, name), 'utf8')
      .replace(/\s+$/, '')
      .split('\n')
      .map((line) => (line.length > 0 ? indent + line : line))
      .join('\n'),
  );
}
