import * as fs from 'fs';
import * as path from 'path';
import {
  CloudFormationValidatePlugin,
  IPolicyValidationContextBeta1,
  IPolicyValidationPluginBeta1,
  PolicyValidationPluginReportBeta1,
} from 'aws-cdk-lib';

/*
 * Validation plugins see only the stack artifacts of the cloud assembly. A `FleetStackSetTemplate` emits none: its
 * template is a file asset of its parent (`<id>.stackset.template.json`). These wrappers hand those files to a plugin
 * too, so the gates check every template a deployment ships. aws-cdk-lib maps the findings back to constructs by
 * template file name and logical id (the template stack's `templateFile`), so acknowledgements apply as for stacks.
 */

/** The StackSet template files written next to the stack templates a plugin was given. */
export function stackSetTemplateFiles(context: IPolicyValidationContextBeta1): string[] {
  const dirs = new Set(context.templatePaths.map((p) => path.dirname(p)));
  return [...dirs].flatMap((dir) =>
    fs.readdirSync(dir).filter((f) => f.endsWith('.stackset.template.json')).map((f) => path.join(dir, f)),
  );
}

function withTemplates(context: IPolicyValidationContextBeta1, files: string[], keepStacks: boolean): IPolicyValidationContextBeta1 {
  const stackTemplates = files.map((templatePath) => ({ stackConstructPath: path.basename(templatePath), templatePath }));
  const base = context as IPolicyValidationContextBeta1 & { stackTemplates?: unknown[] };
  return {
    ...context,
    templatePaths: [...(keepStacks ? context.templatePaths : []), ...files],
    stackTemplates: [...(keepStacks ? (base.stackTemplates ?? []) : []), ...stackTemplates],
  } as IPolicyValidationContextBeta1;
}

/** A plugin that also checks the StackSet templates of the assembly (same name, rules and acknowledgements). */
export class WithStackSetTemplates implements IPolicyValidationPluginBeta1 {
  public readonly name: string;
  public readonly version?: string;
  public readonly ruleIds?: string[];

  /**
   * @param inner the plugin
   * @param onlyStackSetTemplates give the plugin the StackSet templates only (for a plugin that aws-cdk-lib already
   * runs over the stacks, such as the CloudFormation schema validation)
   */
  constructor(private readonly inner: IPolicyValidationPluginBeta1, private readonly onlyStackSetTemplates = false) {
    this.name = inner.name;
    this.version = inner.version;
    this.ruleIds = inner.ruleIds;
  }

  public validate(context: IPolicyValidationContextBeta1): PolicyValidationPluginReportBeta1 {
    const files = stackSetTemplateFiles(context);
    if (files.length === 0) {
      return this.onlyStackSetTemplates ? { success: true, violations: [] } : this.inner.validate(context);
    }
    return this.inner.validate(withTemplates(context, files, !this.onlyStackSetTemplates));
  }
}

/** CloudFormation schema validation (aws-cdk-lib's own engine, shared) of the StackSet templates only. */
export function stackSetTemplateSchemaValidation(): IPolicyValidationPluginBeta1 {
  // Its report may leave `resourceLogicalId` out (template-level findings), which the Beta1 interface types as required.
  return new WithStackSetTemplates(CloudFormationValidatePlugin._singletonInstance() as unknown as IPolicyValidationPluginBeta1, true);
}
