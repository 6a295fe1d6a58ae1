import { AutomationDocument } from './interpreter';

// js-yaml is already in the dev tree (through Jest's coverage tooling); a runbook is plain YAML 1.1 with no tags.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const yaml = require('js-yaml') as { safeLoad(text: string): unknown };

/** Parses a runbook written in YAML (or JSON, which is YAML). */
export function parseRunbook(text: string): AutomationDocument {
  const doc = yaml.safeLoad(text);
  if (doc === null || typeof doc !== 'object') throw new Error('a runbook must be a YAML mapping');
  return doc as AutomationDocument;
}
