import * as fs from 'fs';
import * as path from 'path';
import { Annotations, Aws, CfnResource, FileAssetPackaging, ISynthesisSession, Lazy, Stack } from 'aws-cdk-lib';
import { Construct, IConstruct } from 'constructs';
import {
  globalNames,
  iamCapabilities,
  MAX_TEMPLATE_BYTES,
  resourcesContaining,
  resourcesImportingValues,
  SynthesizedTemplate,
} from './private/stack-set-template-rules';
import { RecordedAsset, StackSetTemplateSynthesizer } from './private/stack-set-template-synthesizer';
import { isStackSetTemplate, markStackSetTemplate } from '../private/stack-set-template-marker';
import { fail } from '../private/validate';

/** Where the errors point: why a StackSet template carries no assets, and what to do instead. */
const DECISION_RECORD = 'docs/decisions/0001-stacksets.md in the cdk-ssm-hybrid-fleet repository';

/**
 * Properties of a `FleetStackSetTemplate`.
 */
export interface FleetStackSetTemplateProps {
  /**
   * Description of the template (each stack instance shows it), at most 1,024 bytes (aws-cdk-lib checks).
   *
   * @default - no description
   */
  readonly description?: string;
}

/**
 * A stack whose template is the body of a service-managed StackSet (`FleetStackSet`): what every member account and
 * Region of an organizational unit deploys, such as the fleet's patching, inventory, compliance rules and installers.
 *
 * Create it inside the stack that holds the `FleetStackSet` (the StackSet's administrator stack). It is
 * environment-agnostic: `Aws.REGION` and `Aws.ACCOUNT_ID` are the member's own at deploy time. It is not a deployment
 * of its own (`cdk list` does not show it): its template is written to the cloud assembly as
 * `<unique id>.stackset.template.json` and shipped as a file asset of the parent stack, whose `FleetStackSet` points at
 * it (`TemplateURL`); CloudFormation StackSets reads it once per stack-set operation, in the administrator account.
 *
 * Synthesis fails when the template:
 * - carries an asset (Lambda code from `Code.fromAsset`, a nested stack, a Docker image, aws-cdk-lib's own
 *   Lambda-backed helpers such as `autoDeleteObjects` or log retention): a StackSet cannot deliver assets to the
 *   bootstrap buckets of member accounts. The error names the resource. Deploy such parts as ordinary stacks in
 *   each account and Region (see docs/decisions/0001-stacksets.md), or use inline code;
 * - uses a `Transform` (service-managed StackSets did not run macros);
 * - imports values from another stack (`Fn::ImportValue`): pass plain values instead;
 * - is larger than 1 MB.
 *
 * It warns (`cdk-ssm-hybrid-fleet:stackSetGlobalName`) when a resource has a hard-coded IAM name without the Region,
 * or an S3 bucket name without account and Region: the second Region of an account (or the second account) would
 * fail to create it.
 */
export class FleetStackSetTemplate extends Stack {
  /** Whether `x` is a `FleetStackSetTemplate`. */
  public static isFleetStackSetTemplate(x: unknown): x is FleetStackSetTemplate {
    return isStackSetTemplate(x);
  }

  /** The stack the template is an asset of (the StackSet's administrator stack). */
  public readonly parentStack: Stack;

  /** File name of the template in the cloud assembly. */
  public readonly templateFile: string;

  /**
   * Where the parent stack's asset storage holds the template (resolves in the parent stack only, once synthesized).
   */
  public readonly templateUrl: string;

  private synthesized?: { readonly url: string; readonly capabilities: string[] };

  constructor(scope: Construct, id: string, props: FleetStackSetTemplateProps = {}) {
    const parentStack = findParentStack(scope, id);
    super(scope, id, {
      // Environment-agnostic even inside a Stage with an environment: every stack instance is its own account/Region.
      env: { account: Aws.ACCOUNT_ID, region: Aws.REGION },
      synthesizer: new StackSetTemplateSynthesizer(),
      description: props.description,
    });
    markStackSetTemplate(this);
    this.parentStack = parentStack;
    this.templateFile = `${this.artifactId}.stackset.template.json`;
    this.templateUrl = Lazy.uncachedString({ produce: () => this.synthesized?.url });
  }

  /**
   * The capabilities a stack set of this template acknowledges: `CAPABILITY_NAMED_IAM` when an IAM resource has a
   * custom name, else `CAPABILITY_IAM` when there is any IAM resource, else none. Known once the template is
   * synthesized (the parent stack synthesizes after it); empty before.
   */
  public get capabilities(): string[] {
    return this.synthesized?.capabilities ?? [];
  }

  /**
   * Not a top-level stack: the parent's cloud assembly metadata carries this template's warnings and errors.
   *
   * @internal
   */
  public get _isTopLevelStack(): boolean {
    return false;
  }

  /**
   * Checks the written template and registers it as a file asset of the parent stack.
   *
   * @internal
   */
  public _registerTemplate(session: ISynthesisSession, templateHash: string, assets: readonly RecordedAsset[]): void {
    const text = fs.readFileSync(path.join(session.assembly.outdir, this.templateFile), 'utf8');
    const template = JSON.parse(text) as SynthesizedTemplate;
    this.checkTemplate(template, Buffer.byteLength(text), assets);
    this.warnGlobalNames(template);
    const location = this.parentStack.synthesizer.addFileAsset({
      fileName: this.templateFile,
      packaging: FileAssetPackaging.FILE,
      sourceHash: templateHash,
      displayName: `${this.node.path} StackSet Template`,
    });
    this.synthesized = { url: location.httpUrl, capabilities: iamCapabilities(template) };
  }

  private checkTemplate(template: SynthesizedTemplate, bytes: number, assets: readonly RecordedAsset[]): void {
    if (assets.length > 0) {
      const uses = assets.map((asset) => {
        const users = resourcesContaining(template, asset.marker).map((id) => this.describe(id));
        const where = users.length > 0 ? `${users.join(', ')} use${users.length === 1 ? 's' : ''}` : 'nothing references';
        return `${where} the ${asset.kind} asset '${asset.displayName}'`;
      });
      fail(
        this,
        `A StackSet template must not carry assets, which CloudFormation StackSets cannot deliver to member accounts and Regions: ${uses.join('; ')}. ` +
          `Deploy what needs an asset as an ordinary stack in each account and Region, or use inline code (see ${DECISION_RECORD})`,
      );
    }
    if (template.Transform !== undefined) {
      fail(
        this,
        `A StackSet template must not use a \`Transform\` (service-managed StackSets do not run macros or transforms), got: ${JSON.stringify(template.Transform)}`,
      );
    }
    const importing = resourcesImportingValues(template);
    if (importing.length > 0) {
      fail(
        this,
        `A StackSet template must not import values of another stack (Fn::ImportValue: exports live in one account and Region): ${importing.map((id) => this.describe(id)).join(', ')}; pass plain values or template parameters`,
      );
    }
    if (bytes > MAX_TEMPLATE_BYTES) {
      fail(
        this,
        `A StackSet template must be at most 1 MB (${MAX_TEMPLATE_BYTES} bytes; the TemplateURL object limit), got: ${bytes} bytes; split the resources into several stack sets`,
      );
    }
  }

  private warnGlobalNames(template: SynthesizedTemplate): void {
    for (const finding of globalNames(template)) {
      const construct = this.ownerOf(finding.logicalId) ?? this;
      const unique = finding.scope === 'account'
        ? 'IAM names are unique per account, so the second Region of an account fails to create it; put the Region in the name (Aws.REGION) or leave the name to CloudFormation'
        : 'S3 bucket names are unique per partition, so the second account or Region fails to create it; put Aws.ACCOUNT_ID and Aws.REGION in the name or leave the name to CloudFormation';
      Annotations.of(construct).addWarningV2(
        'cdk-ssm-hybrid-fleet:stackSetGlobalName',
        `${finding.type} has a hard-coded \`${finding.prop}\` in a StackSet template: ${unique}`,
      );
    }
  }

  /** `<construct path> (<type>)` of a resource of this template, for messages. */
  private describe(logicalId: string): string {
    const resource = this.resourceOf(logicalId);
    return resource ? `${this.ownerOf(logicalId)!.node.path} (${resource.cfnResourceType})` : logicalId;
  }

  /** The construct a user made for a resource: the L2 whose default child it is, else the resource itself. */
  private ownerOf(logicalId: string): IConstruct | undefined {
    const resource = this.resourceOf(logicalId);
    const parent = resource?.node.scope;
    return parent && parent.node.defaultChild === resource ? parent : resource;
  }

  /** The resource of this template (not of a nested stack) behind a logical id. */
  private resourceOf(logicalId: string): CfnResource | undefined {
    return this.node
      .findAll()
      .find((c): c is CfnResource => CfnResource.isCfnResource(c) && Stack.of(c) === this && this.resolve(c.logicalId) === logicalId);
  }
}

/** The stack a template is created in; a template inside a template is refused. */
function findParentStack(scope: Construct, id: string): Stack {
  const stacks = scope.node.scopes.filter((s): s is Stack => Stack.isStack(s));
  const parent = stacks[stacks.length - 1];
  const at = scope.node.path ? `${scope.node.path}/${id}` : id;
  if (!parent) {
    throw new Error(`A \`FleetStackSetTemplate\` must be created inside a stack (the stack that holds its \`FleetStackSet\`) (at ${at})`);
  }
  if (stacks.some((s) => FleetStackSetTemplate.isFleetStackSetTemplate(s))) {
    throw new Error(`A \`FleetStackSetTemplate\` must not be created inside another \`FleetStackSetTemplate\` (at ${at})`);
  }
  return parent;
}
