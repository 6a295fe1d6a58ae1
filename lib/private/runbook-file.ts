import * as fs from 'fs';
import * as path from 'path';

/** The `documents/` folder of the package (valid from `lib/private` both as .ts and as compiled .js). */
const DOCUMENTS = path.join(__dirname, '..', '..', 'documents');

/**
 * Reads an Automation runbook written as JSON under `documents/<feature>/`, with the script of every
 * `aws:executeScript` step that says `"Script": "file:<name>"` read from that file (next to the runbook) and
 * inlined, as a document created through CloudFormation needs it.
 */
export function loadRunbook(feature: string, fileName: string): { [key: string]: any } {
  const folder = path.join(DOCUMENTS, feature);
  const runbook = JSON.parse(fs.readFileSync(path.join(folder, fileName), 'utf8'));
  for (const step of runbook.mainSteps ?? []) {
    const script = step.inputs?.Script;
    if (step.action === 'aws:executeScript' && typeof script === 'string' && script.startsWith('file:')) {
      step.inputs.Script = fs.readFileSync(path.join(folder, script.slice('file:'.length)), 'utf8');
    }
  }
  return runbook;
}
