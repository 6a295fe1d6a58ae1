import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { IPolicyValidationContextBeta1, IPolicyValidationPluginBeta1, PolicyValidationPluginReportBeta1 } from 'aws-cdk-lib';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { exclusively } from './exclusive';

/** The Control Tower rule files shipped by @cdklabs/cdk-validator-cfnguard: name (what `disabledRules` takes) → text. */
const RULE_FILES: ReadonlyMap<string, string> = (() => {
  const root = path.join(path.dirname(require.resolve('@cdklabs/cdk-validator-cfnguard/package.json')), 'rules', 'control-tower', 'cfn-guard');
  const files = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else files.set(path.parse(file).name, fs.readFileSync(file, 'utf8'));
    }
  };
  walk(root);
  return files;
})();

/** A template as the guard reads it: its resources, by logical id. */
interface TemplateDocument {
  readonly AWSTemplateFormatVersion?: string;
  readonly Resources?: Record<string, { readonly Type?: string; readonly Metadata?: unknown; readonly [key: string]: unknown }>;
}

/** What a guard run found, the file it read left out (a kept result may answer for another template). */
type Violations = PolicyValidationPluginReportBeta1['violations'];

/**
 * Guard results by input: the rule files run and the text the binary read. The guard is a pure function of both, so
 * an input met again (the same stack in two variants of an app, the same bucket in another stack) is not checked
 * twice in a worker: the map lives in the worker (jest-environment.js puts it on each test file's global, like the
 * schema validator), or in this module when the environment is another.
 */
export const GUARD_RESULTS_KEY = '__cdkSsmHybridFleetGuardResults';
const RESULTS: Map<string, Violations> = (globalThis as Record<string, any>)[GUARD_RESULTS_KEY] ?? new Map<string, Violations>();

/** The most input characters groups of rule files share a run of the guard binary with (see validateTemplate). */
const BATCH_INPUT_CHARACTERS = 16_000;

/** The logical ids a value refers to: `Ref` and `Fn::GetAtt` (both forms), which is how rules reach other resources. */
function references(value: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) references(item, into);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'Ref' && typeof inner === 'string') into.add(inner);
      else if (key === 'Fn::GetAtt') into.add(Array.isArray(inner) ? String(inner[0]) : String(inner).split('.')[0]);
      references(inner, into);
    }
  }
  return into;
}

/**
 * The cfn-guard Control Tower proactive controls, run with only the rule files that can match a template, each over
 * only the resources it can select.
 *
 * Every Control Tower rule file selects resources by type (`Resources.*[ Type == 'AWS::S3::Bucket' ]`) and names
 * that type; a file that names none of a template's types can only SKIP there. Beyond the resources it selects, a
 * rule reads only the `Type` of a resource that one of them refers to (`query_for_resource`:
 * `Resources[ keys == <Ref or Fn::GetAtt target> ]`, then `Type ==`/`Type in`); none reads a template's `Parameters`,
 * `Mappings`, `Conditions` or `Outputs`, or a resource's `Metadata`. The guard binary evaluates every rule file it is
 * given against the whole template, which made it the slowest part of the gate tests (about 7 s for one full
 * `HybridFleet` stack with the ~50 rule files its types meet; 65 runs took 170 s of a 520 s test run).
 *
 * So the rule files that can match a template are grouped by the template's types they name, and each group is run
 * over a copy holding the resources of those types (without `Metadata`) and, for every resource these refer to, a
 * stub with its `Type` only; groups with small copies share a run (each run of the binary costs ~70 ms to start). An
 * input (rule files and copy) met before is not run again (see {@link RESULTS}). Over the full fleet and the example
 * app's stacks this takes 5.7 s where one run per template over the whole template took 10 s. The findings
 * name the original template, whose metadata aws-cdk-lib reads to map them to constructs. The plugin itself, its name
 * (the `cdk-validator-cfnguard::` acknowledgement prefix), its rule ids and its report are the library's:
 * test/gates/control-tower-guard.test.ts checks that this gives the same findings as the whole rule set over the
 * whole templates, a reference to a resource of a type no rule names included.
 */
export class ControlTowerGuard implements IPolicyValidationPluginBeta1 {
  public readonly name: string;
  public readonly version?: string;
  public readonly ruleIds?: string[];

  /**
   * @param only the names of the rule files to run (e.g. `ct-s3-pr-2`), for a test that needs one control rather than
   * the whole set; default: every rule file that can match.
   */
  constructor(private readonly only?: readonly string[]) {
    const unknown = (only ?? []).filter((name) => !RULE_FILES.has(name));
    if (unknown.length > 0) throw new Error(`no Control Tower rule file ${unknown.join(', ')}`);
    const full = new CfnGuardValidator({ controlTowerRulesEnabled: true });
    this.name = full.name;
    this.version = full.version;
    this.ruleIds = full.ruleIds;
  }

  public validate(context: IPolicyValidationContextBeta1): PolicyValidationPluginReportBeta1 {
    const violations = context.templatePaths.flatMap((templatePath) => this.validateTemplate(templatePath));
    return { success: violations.length === 0, violations };
  }

  private validateTemplate(templatePath: string): Violations {
    const template = JSON.parse(fs.readFileSync(templatePath, 'utf8')) as TemplateDocument;
    const resources = template.Resources ?? {};
    const types = [...new Set(Object.values(resources).map((r) => r.Type).filter((type): type is string => type !== undefined))].sort();
    // Rule files by the template's types they name. None (e.g. a stack of SSM resources only): the whole rule set
    // would SKIP every rule, and the guard binary refuses to run without rules.
    const groups = new Map<string, string[]>();
    for (const [name, text] of RULE_FILES) {
      if (this.only !== undefined && !this.only.includes(name)) continue;
      const named = types.filter((type) => text.includes(type));
      if (named.length === 0) continue;
      const key = named.join(' ');
      groups.set(key, [...(groups.get(key) ?? []), name]);
    }
    const input = (named: ReadonlySet<string>): string => {
      const selected = Object.entries(resources)
        .filter(([, resource]) => named.has(resource.Type ?? ''))
        .map(([id, { Metadata: _metadata, ...resource }]) => [id, resource] as const);
      const referred = [...references(selected.map(([, resource]) => resource), new Set())]
        .filter((id) => resources[id] !== undefined && !selected.some(([selectedId]) => selectedId === id))
        .map((id) => [id, { Type: resources[id].Type }] as const);
      return JSON.stringify({
        ...(template.AWSTemplateFormatVersion !== undefined ? { AWSTemplateFormatVersion: template.AWSTemplateFormatVersion } : {}),
        Resources: Object.fromEntries([...selected, ...referred]),
      }, undefined, 1);
    };
    // Each run of the binary costs a start (~70 ms) besides its rules × input: groups with small inputs share a run,
    // up to BATCH_INPUT_CHARACTERS of input; a group with a larger input runs alone.
    const batches: { named: Set<string>; ruleNames: string[]; data: string }[] = [];
    const bySize = [...groups].map(([key, ruleNames]) => ({ named: new Set(key.split(' ')), ruleNames, data: input(new Set(key.split(' '))) }))
      .sort((a, b) => a.data.length - b.data.length);
    for (const group of bySize) {
      const last = batches[batches.length - 1];
      const merged = last === undefined ? undefined : new Set([...last.named, ...group.named]);
      const mergedData = merged === undefined ? undefined : input(merged);
      if (last !== undefined && mergedData !== undefined && mergedData.length <= BATCH_INPUT_CHARACTERS) {
        batches[batches.length - 1] = { named: merged!, ruleNames: [...last.ruleNames, ...group.ruleNames], data: mergedData };
      } else {
        batches.push(group);
      }
    }
    return batches.flatMap(({ ruleNames, data }) =>
      run(ruleNames.sort(), data).map((v) => ({ ...v, violatingResources: v.violatingResources.map((r) => ({ ...r, templatePath })) })));
  }
}

/** The guard's findings of these rule files over this template text (kept, see {@link RESULTS}). */
function run(ruleNames: string[], data: string): Violations {
  const key = createHash('sha256').update(JSON.stringify(ruleNames)).update('\0').update(data).digest('hex');
  let found = RESULTS.get(key);
  if (found === undefined) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'control-tower-guard-'));
    const input = path.join(dir, 'template.json');
    fs.writeFileSync(input, data);
    try {
      const disabledRules = [...RULE_FILES.keys()].filter((name) => !ruleNames.includes(name));
      // One guard run at a time across the workers (see exclusive.ts).
      found = exclusively(() => new CfnGuardValidator({ controlTowerRulesEnabled: true, disabledRules })
        .validate({ templatePaths: [input] } as IPolicyValidationContextBeta1)).violations
        .map((v) => ({ ...v, violatingResources: v.violatingResources.map((r) => ({ ...r, templatePath: '' })) }));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    RESULTS.set(key, found);
  }
  return found;
}
