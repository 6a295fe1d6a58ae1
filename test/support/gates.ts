import * as fs from 'fs';
import * as path from 'path';
import { App, AppProps, IPolicyValidationPluginBeta1, Validations } from 'aws-cdk-lib';
import type { NagPack } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { ControlTowerGuard } from './control-tower-guard';
import { stackSetTemplateSchemaValidation, WithStackSetTemplates } from './stack-set-templates';

/*
 * The quality gates every construct test App and the example app go through:
 * - CloudFormation schema validation as errors (`@aws-cdk/core:validateAgainstDefaultRules`): synth throws;
 * - the cfn-guard Control Tower proactive controls, as a validation plugin;
 * - cdk-nag v3 packs AwsSolutions, NIST 800-53 R5 and HIPAA Security.
 * Intended findings are acknowledged in lib/private/acknowledgements.ts (the one place, each with a reason).
 */

/** Context every test App and the example app use: CloudFormation schema violations fail synthesis. */
export const STRICT_CONTEXT = { '@aws-cdk/core:validateAgainstDefaultRules': true, 'aws:cdk:disable-creation-stack-traces': true, 'aws:cdk:disable-stack-trace': true } as const;

/** The context of `cdk.json`, which `npm run synth` gives the example app (feature flags included). */
export const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8'),
).context;

/**
 * An App for construct tests with CloudFormation schema validation on: a schema violation fails every synth.
 *
 * The cfn-guard Control Tower plugin is not added here: it spawns the guard binary over some 200 rule files on every
 * synth (about 2 s, against 0.1 s for the synth itself), so it runs where a test asks for the gates:
 * `synthFindings()`/`allFindings()` add it to the App when it is missing and synthesize again.
 */
export function testApp(props: AppProps = {}): App {
  return new App({ ...props, context: { ...STRICT_CONTEXT, ...props.context } });
}

/**
 * A `testApp()` with the context of `cdk.json` too (feature flags included), so that the gated example app is the one
 * `npm run synth` builds. Construct tests keep `testApp()`: `@aws-cdk/aws-iam:minimizePolicies` there merges the
 * policy statements their assertions read one by one.
 */
export function cdkJsonApp(props: AppProps = {}): App {
  return testApp({ ...props, context: { ...CDK_JSON_CONTEXT, ...props.context } });
}

/**
 * The cfn-guard Control Tower proactive controls shipped by @cdklabs/cdk-validator-cfnguard, run with the rule files
 * that can match the synthesized resource types (see control-tower-guard.ts; the whole rule set gives the same
 * findings, which the example-app gate suite checks).
 */
export function controlTowerGuard(): IPolicyValidationPluginBeta1 {
  return new ControlTowerGuard();
}

/**
 * The cdk-nag packs this library is held to. cdk-nag is loaded here, when a test first asks for the packs, not when a
 * test file imports `testApp()`: its rules take some 0.3 s to load in each test file, and seven of the files that
 * import `testApp()` never run them.
 */
export function nagPacks(): NagPack[] {
  const { AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks } = require('cdk-nag') as typeof import('cdk-nag');
  return [new AwsSolutionsChecks(), new NIST80053R5Checks(), new HIPAASecurityChecks()];
}

/** A finding that nobody acknowledged. */
export interface Finding {
  readonly checker: string;
  readonly rule: string;
  readonly severity: string;
  readonly paths: string[];
}

/** Runs every nag pack over a scope and returns its unacknowledged findings (errors and warnings). */
export function nagFindings(scope: IConstruct): Finding[] {
  // cdk-nag's EventBusOpenAccess rule reads CfnEventBusPolicy#principal, which aws-cdk-lib flags as deprecated on
  // every read: that notice is about cdk-nag's code, not ours, so it is silenced for the packs' run only.
  const deprecated = process.env.JSII_DEPRECATED;
  process.env.JSII_DEPRECATED = 'quiet';
  try {
    return nagPacks().flatMap((pack) =>
      pack.validateScope(scope).violations.map((v) => ({
        checker: pack.readPackName,
        rule: v.ruleName,
        severity: v.severity ?? 'error',
        paths: v.violatingResources.map((r) => r.constructPath ?? r.resourceLogicalId ?? '?'),
      })),
    );
  } finally {
    if (deprecated === undefined) delete process.env.JSII_DEPRECATED;
    else process.env.JSII_DEPRECATED = deprecated;
  }
}

interface ReportViolation {
  readonly ruleName: string;
  readonly severity?: string;
  readonly violatingConstructs?: { readonly constructPath?: string }[];
}

/** The Apps `synthFindings` has added the cfn-guard plugin to (nothing else in the tests adds it). */
const guarded = new WeakSet<App>();

/**
 * Synthesizes an App (which throws on a CloudFormation schema error) and returns the unacknowledged findings of its
 * validation plugins, read from the cloud assembly's `validation-report.json`.
 *
 * The report is read rather than relying on synth to throw: aws-cdk-lib marks a plugin report successful once any
 * finding is acknowledged if the remaining ones carry no severity, which the cfn-guard plugin does not always set.
 */
export function synthFindings(app: App, guard: () => IPolicyValidationPluginBeta1 = controlTowerGuard): Finding[] {
  // Tracked here rather than read back from `app.policyValidationBeta1`, whose getter prints a deprecation warning.
  if (!guarded.has(app)) {
    // StackSet templates are file assets, not stacks: the plugins get them too (see stack-set-templates.ts).
    Validations.of(app).addPlugins(new WithStackSetTemplates(guard()), stackSetTemplateSchemaValidation());
    guarded.add(app);
  }
  const assembly = app.synth({ force: true });
  const reportFile = path.join(assembly.directory, 'validation-report.json');
  if (!fs.existsSync(reportFile)) return [];
  const report = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as {
    pluginReports: { pluginName: string; violations: ReportViolation[] }[];
  };
  return report.pluginReports.flatMap((r) =>
    r.violations.map((v) => ({
      checker: r.pluginName,
      rule: v.ruleName,
      severity: v.severity ?? 'error',
      paths: (v.violatingConstructs ?? []).map((c) => c.constructPath ?? '?'),
    })),
  );
}

/** Every gate over an App: nag findings plus synth-time plugin findings. */
export function allFindings(app: App): Finding[] {
  return [...nagFindings(app), ...synthFindings(app)];
}
