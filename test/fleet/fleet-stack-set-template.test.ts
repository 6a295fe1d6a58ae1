import * as fs from 'fs';
import * as path from 'path';
import { App, Aws, CfnParameter, CfnResource, Fn, NestedStack, Stack, Stage } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { FleetStackSet, FleetStackSetTemplate, InventoryDataSync, StackSetCallAs } from '../../lib';
import { synthFindings, testApp } from '../support/gates';

const ADMIN = { account: '111122223333', region: 'eu-west-1' };
const TARGETS = { organizationalUnitIds: ['ou-ab12-cdef3456'], regions: ['eu-west-1', 'us-east-1'] };
const ASSET_DIR = path.join(__dirname, '..', '..', 'assets', 'janitor');

let app: App;
let admin: Stack;
let member: FleetStackSetTemplate;
beforeEach(() => {
  app = testApp();
  admin = new Stack(app, 'Admin', { env: ADMIN });
  member = new FleetStackSetTemplate(admin, 'Member');
});

const stackSet = (template = member) => new FleetStackSet(admin, 'StackSet', { template, callAs: StackSetCallAs.SELF, ...TARGETS });
const nodeRole = (scope: Construct, roleName?: string) =>
  new iam.Role(scope, 'NodeRole', { assumedBy: new iam.ServicePrincipal('ssm.amazonaws.com'), roleName });
const templateOf = (dir: string, t: FleetStackSetTemplate) => JSON.parse(fs.readFileSync(path.join(dir, t.templateFile), 'utf8'));
const stackSetProps = () => Object.values(Template.fromStack(admin).findResources('AWS::CloudFormation::StackSet'))[0].Properties;

describe('the template travels as a file asset of the admin stack', () => {
  test('written to the assembly, registered as an asset, and the StackSet points at that asset', () => {
    new ssm.StringParameter(member, 'Marker', { stringValue: 'member' });
    stackSet();
    const assembly = app.synth();
    expect(member.templateFile).toBe(`${member.artifactId}.stackset.template.json`);
    const body = templateOf(assembly.directory, member);
    expect(Object.values(body.Resources).map((r: any) => r.Type)).toEqual(['AWS::SSM::Parameter']);

    const manifest = JSON.parse(fs.readFileSync(path.join(assembly.directory, 'Admin.assets.json'), 'utf8'));
    const [hash, asset] = Object.entries<any>(manifest.files).find(([, a]) => a.source.path === member.templateFile)!;
    expect(asset.source.packaging).toBe('file');
    expect(asset.displayName).toBe('Admin/Member StackSet Template');
    const destination: any = Object.values(asset.destinations)[0];
    expect(destination.objectKey).toBe(`${hash}.json`);
    expect(stackSetProps().TemplateURL).toEqual({
      'Fn::Sub': `https://s3.eu-west-1.\${AWS::URLSuffix}/${destination.bucketName.replace('${AWS::AccountId}', '111122223333').replace('${AWS::Region}', 'eu-west-1')}/${hash}.json`,
    });
  });

  test('is no deployment of its own, and has no bootstrap check (members are not bootstrapped)', () => {
    nodeRole(member);
    stackSet();
    const assembly = app.synth();
    expect(assembly.stacks.map((s) => s.id)).toEqual(['Admin']);
    expect(templateOf(assembly.directory, member).Parameters?.BootstrapVersion).toBeUndefined();
    expect(templateOf(assembly.directory, member).Rules).toBeUndefined();
  });

  test('is environment-agnostic, also inside a Stage with an environment', () => {
    const stage = new Stage(app, 'Prod', { env: ADMIN });
    const t = new FleetStackSetTemplate(new Stack(stage, 'Admin'), 'Member');
    expect(t.resolve(t.account)).toEqual({ Ref: 'AWS::AccountId' });
    expect(t.resolve(t.region)).toEqual({ Ref: 'AWS::Region' });
  });

  test("the admin stack's metadata carries the template's warnings", () => {
    nodeRole(member, 'fleet-node');
    stackSet();
    Annotations.fromStack(admin).hasWarning('/Admin/Member/NodeRole', Match.stringLikeRegexp('hard-coded `RoleName`'));
  });

  test('synthesizes again (as the gates do) to the same single asset', () => {
    nodeRole(member);
    stackSet();
    const first = stackSetProps().TemplateURL;
    const assembly = app.synth({ force: true });
    const manifest = JSON.parse(fs.readFileSync(path.join(assembly.directory, 'Admin.assets.json'), 'utf8'));
    expect(Object.values<any>(manifest.files).filter((a) => a.source.path === member.templateFile)).toHaveLength(1);
    expect(stackSetProps().TemplateURL).toEqual(first);
  });

  test('a template must be created inside a stack, and not inside another template', () => {
    expect(() => new FleetStackSetTemplate(new App(), 'Loose')).toThrow(
      'A `FleetStackSetTemplate` must be created inside a stack (the stack that holds its `FleetStackSet`) (at Loose)',
    );
    expect(() => new FleetStackSetTemplate(member, 'Inner')).toThrow(
      'A `FleetStackSetTemplate` must not be created inside another `FleetStackSetTemplate` (at Admin/Member/Inner)',
    );
  });
});

describe('the gates see the template (test/support/stack-set-templates.ts)', () => {
  test('CloudFormation schema validation, by construct path', () => {
    new CfnResource(member, 'Bad', { type: 'AWS::SSM::Parameter', properties: { Type: 'String' } });
    stackSet();
    expect(() => synthFindings(app)).toThrow(/ERROR .*'Value' is a required property \(CloudFormation Validate\)\n\s+Admin\/Member\/Bad /);
  });

  test('the Control Tower guard, by construct path', () => {
    new s3.CfnBucket(member, 'Unencrypted');
    stackSet();
    expect(() => synthFindings(app)).toThrow(/ERROR \[CT\.S3\.PR\.10\]: .*\n\s+Admin\/Member\/Unencrypted /);
  });
});

describe('what a StackSet template must not carry', () => {
  test('an asset: the error names the resource that uses it and points at the decision record', () => {
    new lambda.Function(member, 'Fn', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromAsset(ASSET_DIR) });
    stackSet();
    expect(() => app.synth()).toThrow(
      "A StackSet template must not carry assets, which CloudFormation StackSets cannot deliver to member accounts and Regions: Admin/Member/Fn (AWS::Lambda::Function) uses the file asset 'Fn/Code'. " +
        'Deploy what needs an asset as an ordinary stack in each account and Region, or use inline code (see docs/decisions/0001-stacksets.md in the cdk-ssm-hybrid-fleet repository) (at Admin/Member)',
    );
  });

  test('inline Lambda code is not an asset', () => {
    new lambda.Function(member, 'Fn', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => {}') });
    stackSet();
    expect(() => app.synth()).not.toThrow();
  });

  test('a nested stack and an asset nothing references are named too', () => {
    new ssm.StringParameter(new NestedStack(member, 'Nested'), 'P', { stringValue: 'x' });
    new s3assets.Asset(member, 'Data', { path: ASSET_DIR });
    expect(() => app.synth()).toThrow(/: nothing references the file asset 'Data'; /);
    expect(() => app.synth()).toThrow(
      /; Admin\/Member\/Nested\.NestedStack\/Nested\.NestedStackResource \(AWS::CloudFormation::Stack\) uses the file asset 'Nested Nested Stack Template'\. /,
    );
  });

  test('a Transform', () => {
    member.addTransform('AWS::Serverless-2016-10-31');
    expect(() => app.synth()).toThrow(
      'A StackSet template must not use a `Transform` (service-managed StackSets do not run macros or transforms), got: "AWS::Serverless-2016-10-31" (at Admin/Member)',
    );
  });

  test('a value imported from another stack', () => {
    new ssm.StringParameter(member, 'Imported', { stringValue: Fn.importValue('CentralBucketName') });
    expect(() => app.synth()).toThrow(
      'A StackSet template must not import values of another stack (Fn::ImportValue: exports live in one account and Region): Admin/Member/Imported (AWS::SSM::Parameter); pass plain values or template parameters (at Admin/Member)',
    );
  });

  test('more than 1 MB', () => {
    member.templateOptions.metadata = { padding: 'x'.repeat(1_000_000) };
    expect(() => app.synth()).toThrow(
      /^A StackSet template must be at most 1 MB \(1000000 bytes; the TemplateURL object limit\), got: 10000\d\d bytes; split the resources into several stack sets \(at Admin\/Member\)$/,
    );
  });
});

describe('capabilities follow the IAM resources', () => {
  test('none without IAM resources', () => {
    new ssm.StringParameter(member, 'P', { stringValue: 'x' });
    stackSet();
    expect(stackSetProps().Capabilities).toBeUndefined();
  });

  test('CAPABILITY_IAM for IAM resources with generated names', () => {
    nodeRole(member);
    stackSet();
    expect(stackSetProps().Capabilities).toEqual(['CAPABILITY_IAM']);
  });

  test('CAPABILITY_NAMED_IAM when an IAM resource has a custom name', () => {
    nodeRole(member, `fleet-node-${Aws.REGION}`);
    stackSet();
    expect(stackSetProps().Capabilities).toEqual(['CAPABILITY_NAMED_IAM']);
  });
});

describe('names that collide across Regions', () => {
  const warnings = () => Annotations.fromStack(admin).findWarning('*', Match.stringLikeRegexp('cdk-ssm-hybrid-fleet:stackSetGlobalName'));

  test('an IAM name without the Region warns on its resource', () => {
    nodeRole(member, 'fleet-node');
    new iam.ManagedPolicy(member, 'Policy', { managedPolicyName: 'fleet-policy', statements: [new iam.PolicyStatement({ actions: ['ssm:DescribeParameters'], resources: ['*'] })] });
    stackSet();
    expect(warnings().map((w) => w.id)).toEqual(['/Admin/Member/NodeRole', '/Admin/Member/Policy']);
    expect(warnings()[0].entry.data).toMatch(/^AWS::IAM::Role has a hard-coded `RoleName` in a StackSet template: IAM names are unique per account/);
  });

  test('an S3 bucket name needs both account and Region', () => {
    new s3.CfnBucket(member, 'Fixed', { bucketName: 'fleet-data' });
    new s3.CfnBucket(member, 'RegionOnly', { bucketName: `fleet-data-${Aws.REGION}` });
    new s3.CfnBucket(member, 'Unique', { bucketName: `fleet-data-${Aws.ACCOUNT_ID}-${Aws.REGION}` });
    stackSet();
    expect(warnings().map((w) => w.id)).toEqual(['/Admin/Member/Fixed', '/Admin/Member/RegionOnly']);
  });

  test('names with the Region, generated names and names from a template parameter do not warn', () => {
    nodeRole(member, `fleet-node-${Aws.REGION}`);
    const suffix = new CfnParameter(member, 'Suffix', { default: 'a' });
    new iam.Role(member, 'Other', { assumedBy: new iam.ServicePrincipal('ssm.amazonaws.com'), roleName: `fleet-${suffix.valueAsString}` });
    new iam.Role(member, 'Generated', { assumedBy: new iam.ServicePrincipal('ssm.amazonaws.com') });
    stackSet();
    expect(warnings()).toEqual([]);
  });
});

describe('the quota guard counts a template on its own (each stack instance is one account and Region)', () => {
  const syncs = (scope: Construct, count: number) => {
    const bucket = s3.Bucket.fromBucketName(scope, 'Central', 'inventory-central');
    for (let i = 0; i < count; i++) new InventoryDataSync(scope, `Sync${i}`, { bucket, bucketRegion: 'eu-west-1' });
  };
  const quotaWarnings = (stack: Stack) => Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('quota-resourceDataSyncs'));

  test('not together with env-agnostic stacks', () => {
    const agnostic = new Stack(app, 'Agnostic');
    const template = new FleetStackSetTemplate(agnostic, 'Member');
    syncs(agnostic, 3);
    syncs(template, 3);
    new FleetStackSet(agnostic, 'StackSet', { template, callAs: StackSetCallAs.SELF, ...TARGETS });
    stackSet();
    expect(quotaWarnings(agnostic)).toEqual([]);
  });

  test('over a quota in one template, the warning says where', () => {
    syncs(member, 6);
    stackSet();
    expect(quotaWarnings(admin).map((w) => w.entry.data)).toEqual([
      expect.stringContaining('"resource data syncs per account and Region": 6 in each account/Region of the StackSet template Admin/Member (Admin/Member: 6)'),
    ]);
  });
});
