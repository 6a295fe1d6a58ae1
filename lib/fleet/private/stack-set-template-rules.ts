/*
 * What a template must be to travel on a service-managed CloudFormation StackSet, checked on the synthesized template
 * (pure functions over its JSON: no construct, no file). The template stack turns the findings into errors and
 * warnings with construct paths.
 * - TemplateURL objects are at most 1 MB:
 *   https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html (validated to the
 *   stricter reading, 1,000,000 bytes, the limit aws-cdk-lib uses for stack templates).
 * - Service-managed StackSets did not run macros or transforms (CloudFormation User Guide, 2023):
 *   https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-orgs-manage-auto-deployment.html
 * - Capabilities: https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackSet.html
 */

/** Largest template object (bytes) a StackSet reads from its TemplateURL. */
export const MAX_TEMPLATE_BYTES = 1_000_000;

/** Types whose physical name, when given, must be unique per account whatever the Region: the IAM name props. */
const IAM_NAME_PROPS: Readonly<Record<string, string>> = {
  'AWS::IAM::Role': 'RoleName',
  'AWS::IAM::ManagedPolicy': 'ManagedPolicyName',
  'AWS::IAM::User': 'UserName',
  'AWS::IAM::Group': 'GroupName',
  'AWS::IAM::InstanceProfile': 'InstanceProfileName',
};

/** A resource of the synthesized template. */
interface TemplateResource {
  readonly Type?: string;
  readonly Properties?: Record<string, unknown>;
}

/** The parts of a synthesized template the rules read. */
export interface SynthesizedTemplate {
  readonly Transform?: unknown;
  readonly Parameters?: Record<string, unknown>;
  readonly Resources?: Record<string, TemplateResource>;
}

/** A hard-coded physical name that collides when the template deploys to several Regions (or accounts). */
export interface GlobalNameFinding {
  readonly logicalId: string;
  readonly type: string;
  readonly prop: string;
  /** What the name is unique across, and so must carry: 'account' (IAM) or 'partition' (S3 bucket names). */
  readonly scope: 'account' | 'partition';
}

/** The capabilities a stack set of this template must acknowledge: CAPABILITY_NAMED_IAM beats CAPABILITY_IAM. */
export function iamCapabilities(template: SynthesizedTemplate): string[] {
  const resources = Object.values(template.Resources ?? {});
  const iam = resources.filter((r) => typeof r.Type === 'string' && r.Type.startsWith('AWS::IAM::'));
  if (iam.length === 0) return [];
  const named = iam.some((r) => {
    const prop = IAM_NAME_PROPS[r.Type as string];
    return prop !== undefined && r.Properties?.[prop] !== undefined;
  });
  return [named ? 'CAPABILITY_NAMED_IAM' : 'CAPABILITY_IAM'];
}

/** Logical ids of the resources whose definition contains `marker` (an asset placeholder). */
export function resourcesContaining(template: SynthesizedTemplate, marker: string): string[] {
  return Object.entries(template.Resources ?? {})
    .filter(([, resource]) => JSON.stringify(resource).includes(marker))
    .map(([logicalId]) => logicalId);
}

/** Logical ids of the resources that import a value exported by another stack (`Fn::ImportValue`). */
export function resourcesImportingValues(template: SynthesizedTemplate): string[] {
  return Object.entries(template.Resources ?? {})
    .filter(([, resource]) => JSON.stringify(resource).includes('"Fn::ImportValue"'))
    .map(([logicalId]) => logicalId);
}

/** A name refers to the pseudo parameter (`Ref` or `${...}` inside `Fn::Sub`). */
function mentions(value: unknown, pseudo: string): boolean {
  const text = JSON.stringify(value);
  return text.includes(`"Ref":"${pseudo}"`) || text.includes(`\${${pseudo}}`);
}

/** A name refers to a template parameter (its value may differ per stack instance): not judged. */
function refersToParameter(value: unknown, template: SynthesizedTemplate): boolean {
  return Object.keys(template.Parameters ?? {}).some((p) => mentions(value, p));
}

/**
 * Hard-coded physical names that collide when one template deploys to several Regions of one account: IAM names
 * without the Region (IAM is global to the account), and S3 bucket names without both account and Region (bucket
 * names are global to the partition).
 */
export function globalNames(template: SynthesizedTemplate): GlobalNameFinding[] {
  const findings: GlobalNameFinding[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    const type = resource.Type ?? '';
    const iamProp = IAM_NAME_PROPS[type];
    if (iamProp !== undefined) {
      const name = resource.Properties?.[iamProp];
      if (name !== undefined && !refersToParameter(name, template) && !mentions(name, 'AWS::Region')) {
        findings.push({ logicalId, type, prop: iamProp, scope: 'account' });
      }
    } else if (type === 'AWS::S3::Bucket') {
      const name = resource.Properties?.BucketName;
      const unique = (): boolean => mentions(name, 'AWS::Region') && mentions(name, 'AWS::AccountId');
      if (name !== undefined && !refersToParameter(name, template) && !unique()) {
        findings.push({ logicalId, type, prop: 'BucketName', scope: 'partition' });
      }
    }
  }
  return findings;
}
