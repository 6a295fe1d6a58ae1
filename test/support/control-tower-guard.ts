import * as fs from 'fs';
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

/** The resource types of the templates under validation. */
function resourceTypes(context: IPolicyValidationContextBeta1): Set<string> {
  const types = new Set<string>();
  for (const templatePath of context.templatePaths) {
    const template = JSON.parse(fs.readFileSync(templatePath, 'utf8')) as { Resources?: Record<string, { Type?: string }> };
    for (const resource of Object.values(template.Resources ?? {})) if (resource.Type) types.add(resource.Type);
  }
  return types;
}

/**
 * The cfn-guard Control Tower proactive controls, run only with the rule files that can match the templates.
 *
 * Every Control Tower rule file selects resources by type (`Resources.*[ Type == 'AWS::S3::Bucket' ]`) and names
 * that type; a file that names none of the templates' types can only SKIP. The guard binary parses every rule file it
 * is given on every run, which made it the slowest part of a gate test (~7 s for ~240 files against ~1 s for the
 * two dozen an inventory stack can meet), so those files are passed to the plugin as `disabledRules`. The plugin
 * itself, its name (the `cdk-validator-cfnguard::` acknowledgement prefix), its rule ids and its report are the
 * library's: test/gates/example-app.test.ts checks that this gives the same findings as the whole rule set.
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
    const types = [...resourceTypes(context)];
    const disabledRules = [...RULE_FILES]
      .filter(([name, text]) => !types.some((type) => text.includes(type)) || (this.only !== undefined && !this.only.includes(name)))
      .map(([name]) => name);
    // No rule can match (e.g. a stack of SSM resources only): the whole rule set would SKIP every rule, and the guard
    // binary refuses to run without rules.
    if (disabledRules.length === RULE_FILES.size) return { success: true, violations: [] };
    return new CfnGuardValidator({ controlTowerRulesEnabled: true, disabledRules }).validate(context);
  }
}
