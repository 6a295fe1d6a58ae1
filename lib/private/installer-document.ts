import * as fs from 'fs';
import * as path from 'path';

/** Where the installer document's skeleton and step scripts live (valid from lib/ as .ts and as compiled .js). */
export const INSTALLER_DOCUMENTS_DIR = path.join(__dirname, '..', '..', 'documents', 'installer');

/** What the installer document installs from: versioned S3 objects, or a Distributor package. */
export type InstallerSource = 's3' | 'distributor';

const STEP_FILES: Record<InstallerSource, string> = {
  s3: 's3-package-steps.json',
  distributor: 'distributor-package-steps.json',
};

/** A `@@<script> [phase]@@` placeholder of a step skeleton. */
const PLACEHOLDER = /^@@(install-agent\.(sh|ps1))(?: (decide|verify))?@@$/;

function read(file: string): string {
  return fs.readFileSync(path.join(INSTALLER_DOCUMENTS_DIR, file), 'utf8');
}

/**
 * The lines of a step script as the document's `runCommand`. A phase (Distributor documents run the script twice)
 * is set by one constant line, after the shebang for bash and first for PowerShell; nothing else is added, and no
 * value from props ever is: those reach the script as document parameters (environment variables).
 */
export function scriptLines(script: string, phase?: string): string[] {
  const lines = read(script).replace(/\n$/, '').split('\n');
  if (!phase) return lines;
  if (script.endsWith('.sh')) return [lines[0], `INSTALLER_PHASE=${phase}`, ...lines.slice(1)];
  return [`$env:INSTALLER_PHASE = '${phase}'`, ...lines];
}

/**
 * The Command document (schemaVersion 2.2) of an AgentInstaller: description and parameters from
 * `documents/installer/parameters.json`, steps from the skeleton of the source with each placeholder replaced by the
 * lines of the step script file it names.
 */
export function installerDocument(source: InstallerSource): Record<string, unknown> {
  const { description, parameters } = JSON.parse(read('parameters.json')) as { description: string; parameters: Record<string, unknown> };
  const steps = JSON.parse(read(STEP_FILES[source])) as { inputs: Record<string, unknown> }[];
  const mainSteps = steps.map((step) => {
    const command = step.inputs.runCommand;
    if (typeof command !== 'string') return step;
    const match = PLACEHOLDER.exec(command);
    if (!match) throw new Error(`documents/installer/${STEP_FILES[source]}: unknown runCommand placeholder ${command}`);
    return { ...step, inputs: { ...step.inputs, runCommand: scriptLines(match[1], match[3]) } };
  });
  return { schemaVersion: '2.2', description, parameters, mainSteps };
}
