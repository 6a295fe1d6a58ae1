import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { IPolicyValidationContextBeta1, IPolicyValidationPluginBeta1, PolicyValidationPluginReportBeta1 } from 'aws-cdk-lib';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';

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

/** What a guard run over one template found, with the file it read left out (the cache holds it for any template). */
type Violations = PolicyValidationPluginReportBeta1['violations'];

/**
 * Guard results by input: the rule files run and the text the binary read. The guard is a pure function of both, so a
 * template synthesized again unchanged (the same stack in two variants of an app, a test that synthesizes twice) is
 * not checked twice in one test file.
 */
const RESULTS = new Map<string, Violations>();

/** The logical ids a value refers to: `Ref`, `Fn::GetAtt` (both forms) and `${...}` in `Fn::Sub`. */
function references(value: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) references(item, into);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'Ref' && typeof inner === 'string') into.add(inner);
      else if (key === 'Fn::GetAtt') into.add(Array.isArray(inner) ? String(inner[0]) : String(inner).split('.')[0]);
      else if (key === 'Fn::Sub') {
        const text = Array.isArray(inner) ? inner[0] : inner;
        for (const match of String(text).matchAll(/\$\{([^}!.]+)[^}]*\}/g)) into.add(match[1]);
      }
      references(inner, into);
    }
  }
  return into;
}

/** The given resources and every resource they refer to, directly or through others. */
function referencedClosure(resources: NonNullable<TemplateDocument['Resources']>, ids: string[]): Set<string> {
  const kept = new Set<string>();
  const pending = [...ids];
  while (pending.length > 0) {
    const id = pending.pop()!;
    if (kept.has(id) || resources[id] === undefined) continue;
    kept.add(id);
    const { Metadata: _metadata, ...resource } = resources[id];
    pending.push(...references(resource, new Set()));
  }
  return kept;
}

/**
 * The cfn-guard Control Tower proactive controls, run with only the rule files that can match each template, over
 * only the resources those files can select.
 *
 * Every Control Tower rule file selects resources by type (`Resources.*[ Type == 'AWS::S3::Bucket' ]`) and names
 * that type; a file that names none of a template's types can only SKIP there. Beyond those, a rule reads only the
 * resources a selected one refers to (`query_for_resource`: `Resources[ keys == <Ref or Fn::GetAtt target> ]`, its
 * `Type`); none reads a template's `Parameters`, `Mappings`, `Conditions` or `Outputs`, or a resource's `Metadata`.
 * The guard binary parses every rule file it is given and evaluates each against the whole template, which made it
 * the slowest part of the gate tests (about 7 s for one full `HybridFleet` stack against the ~50 rule files its types
 * meet; 65 runs took 170 s of a 520 s test run). So each template is checked on its own, with the rule files that
 * name one of its types (the rest go to the plugin as `disabledRules`), over a copy that holds the resources of the
 * types those files name and every resource these refer to, transitively, without `Metadata`: a full fleet stack
 * takes under half the time. An unchanged copy checked with the same rule files is not checked again in one test
 * file (the guard is a pure function of both). The findings name the original template, whose metadata aws-cdk-lib
 * reads to map them to constructs. The plugin itself, its name (the `cdk-validator-cfnguard::` acknowledgement
 * prefix), its rule ids and its report are the library's: test/gates/control-tower-guard.test.ts checks that this
 * gives the same findings as the whole rule set over the whole templates, a reference to a resource of a type no
 * rule names included.
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
    const resources = Object.entries(template.Resources ?? {});
    const types = new Set(resources.map(([, resource]) => resource.Type).filter((type): type is string => type !== undefined));
    const rules = [...RULE_FILES].filter(([name, text]) => (this.only === undefined || this.only.includes(name)) && [...types].some((type) => text.includes(type)));
    // No rule can match (e.g. a stack of SSM resources only): the whole rule set would SKIP every rule, and the guard
    // binary refuses to run without rules.
    if (rules.length === 0) return [];
    const named = new Set([...types].filter((type) => rules.some(([, text]) => text.includes(type))));
    const kept = referencedClosure(template.Resources ?? {}, resources.filter(([, resource]) => named.has(resource.Type ?? '')).map(([id]) => id));
    // Written as aws-cdk-lib writes templates (one-space indentation).
    const trimmed = JSON.stringify({
      ...(template.AWSTemplateFormatVersion !== undefined ? { AWSTemplateFormatVersion: template.AWSTemplateFormatVersion } : {}),
      Resources: Object.fromEntries(resources
        .filter(([id]) => kept.has(id))
        .map(([id, { Metadata: _metadata, ...resource }]) => [id, resource])),
    }, undefined, 1);
    const ruleNames = rules.map(([name]) => name);
    const key = createHash('sha256').update(JSON.stringify([ruleNames, trimmed])).digest('hex');
    let found = RESULTS.get(key);
    if (found === undefined) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'control-tower-guard-'));
      const input = path.join(dir, 'template.json');
      fs.writeFileSync(input, trimmed);
      try {
        const disabledRules = [...RULE_FILES.keys()].filter((name) => !ruleNames.includes(name));
        found = new CfnGuardValidator({ controlTowerRulesEnabled: true, disabledRules })
          .validate({ templatePaths: [input] } as IPolicyValidationContextBeta1).violations
          .map((v) => ({ ...v, violatingResources: v.violatingResources.map((r) => ({ ...r, templatePath: '' })) }));
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
      RESULTS.set(key, found);
    }
    return found.map((v) => ({ ...v, violatingResources: v.violatingResources.map((r) => ({ ...r, templatePath })) }));
  }
}
