import { Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { HybridFleetCentral, HybridFleetCentralProps } from '../../lib';
import { allFindings, testApp } from '../support/gates';
import { customerKey } from '../support/kms';

const ORG = 'o-a1b2c3d4e5';
const CENTRAL = '111122223333';
const MEMBERS = ['444455556666', '777788889999'];

function explicitStack(): Stack {
  return new Stack(testApp(), 'Central', { env: { account: CENTRAL, region: 'eu-west-1' } });
}

const sids = (template: Template, type: string, path: (r: any) => any[]) =>
  (Object.values(template.findResources(type)) as any[]).flatMap((r) => path(r.Properties)).map((s: any) => s.Sid);

describe('one account, environment-agnostic (what HybridFleet builds on)', () => {
  test('bucket, query layer, bus and dashboard of this account and Region; no sink, no cross-account grant', () => {
    const stack = new Stack(testApp(), 'Solo');
    const central = new HybridFleetCentral(stack, 'Central');
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: { 'Fn::Join': ['', ['hybrid-fleet-inventory-', { Ref: 'AWS::AccountId' }, '-', { Ref: 'AWS::Region' }]] },
    });
    template.resourceCountIs('AWS::Glue::Database', 1);
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'hybrid-fleet-alerts' });
    template.resourceCountIs('AWS::Events::EventBusPolicy', 0);
    template.resourceCountIs('AWS::Oam::Sink', 0);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.resourceCountIs('AWS::Lambda::Function', 0);
    expect(central.memberAccounts).toEqual([stack.account]);
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
    const ref = central.reference();
    expect(stack.resolve(ref)).toEqual({
      account: { Ref: 'AWS::AccountId' },
      region: { Ref: 'AWS::Region' },
      inventoryBucketName: { 'Fn::Join': ['', ['hybrid-fleet-inventory-', { Ref: 'AWS::AccountId' }, '-', { Ref: 'AWS::Region' }]] },
      inventoryBucketPrefix: 'inventory',
      inventoryKeyArn: undefined,
      alertBusArn: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':events:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':event-bus/hybrid-fleet-alerts']] },
      observabilitySinkArns: undefined,
    });
  });

  test('passes every gate', () => {
    const stack = new Stack(testApp(), 'Solo');
    new HybridFleetCentral(stack, 'Central');
    expect(allFindings(stack.node.root as never)).toEqual([]);
  });
});

describe('central account of an organization, members in two Regions', () => {
  const props: HybridFleetCentralProps = { organizationId: ORG, memberAccounts: MEMBERS, memberRegions: ['eu-west-1', 'us-east-1'] };

  test('the inventory bucket admits each member account\'s syncs, per account only (no organization-wide statement)', () => {
    const stack = explicitStack();
    new HybridFleetCentral(stack, 'Central', props);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::S3::Bucket', { BucketName: 'hybrid-fleet-inventory-111122223333-eu-west-1' });
    const statements = (Object.values(template.findResources('AWS::S3::BucketPolicy')) as any[]).flatMap((p) => p.Properties.PolicyDocument.Statement);
    const delivery = statements.filter((s) => s.Principal?.Service === 'ssm.amazonaws.com' && s.Effect === 'Allow' && s.Action === 's3:PutObject');
    expect(delivery.map((s) => s.Condition.StringEquals['aws:SourceAccount'])).toEqual([CENTRAL, ...MEMBERS]);
    expect(JSON.stringify(statements)).not.toContain(ORG);
    expect(statements.filter((s) => s.Effect === 'Allow').map((s) => s.Sid).filter((sid) => String(sid).includes('Organization'))).toEqual([]);
  });

  test('organizationSyncs: the bucket also admits every account of the organization, each into its own partition', () => {
    const stack = explicitStack();
    new HybridFleetCentral(stack, 'Central', { ...props, organizationSyncs: true });
    const statements = (Object.values(Template.fromStack(stack).findResources('AWS::S3::BucketPolicy')) as any[]).flatMap((p) => p.Properties.PolicyDocument.Statement);
    const org = statements.find((s) => s.Sid === 'SSMBucketDeliveryOrganizationSyncs');
    expect(org.Condition.StringEquals['aws:SourceOrgID']).toBe(ORG);
    expect(JSON.stringify(org.Resource)).toContain('inventory/*/accountid=${aws:SourceAccount}/*');
    // The per-account statements stay for the known members.
    const perAccount = statements.filter((s) => s.Principal?.Service === 'ssm.amazonaws.com' && s.Effect === 'Allow' && s.Action === 's3:PutObject' && s.Condition.StringEquals['aws:SourceAccount']);
    expect(perAccount.map((s) => s.Condition.StringEquals['aws:SourceAccount'])).toEqual([CENTRAL, ...MEMBERS]);
  });

  test('the query layer projects every member account (this one included) and Region', () => {
    const stack = explicitStack();
    new HybridFleetCentral(stack, 'Central', props);
    const tables = Object.values(Template.fromStack(stack).findResources('AWS::Glue::Table')) as any[];
    expect(tables.length).toBeGreaterThan(0);
    for (const table of tables) {
      expect(table.Properties.TableInput.Parameters['projection.accountid.values']).toBe('111122223333,444455556666,777788889999');
      expect(table.Properties.TableInput.Parameters['projection.region.values']).toBe('eu-west-1,us-east-1');
    }
  });

  test('bus and sink admit the organization and the other member accounts, not this one', () => {
    const stack = explicitStack();
    new HybridFleetCentral(stack, 'Central', props);
    const template = Template.fromStack(stack);
    expect(sids(template, 'AWS::Events::EventBusPolicy', (p) => [p.Statement])).toEqual(['cdk-PutAlertsFromOrganization', 'cdk-PutAlertsFromAccounts']);
    const accounts = (Object.values(template.findResources('AWS::Events::EventBusPolicy')) as any[]).find((p) => p.Properties.StatementId === 'cdk-PutAlertsFromAccounts');
    expect(JSON.stringify(accounts.Properties.Statement.Principal)).not.toContain(CENTRAL);
    const [sink] = Object.values(template.findResources('AWS::Oam::Sink')) as any[];
    expect(sink.Properties.Policy.Statement.map((s: any) => [s.Sid, s.Principal])).toEqual([
      ['LinkFromOrganization', '*'],
      ['LinkFromAccounts', { AWS: MEMBERS }],
    ]);
  });

  test('the dashboard graphs every account × Region and alarms over this Region\'s accounts, to the topic', () => {
    const stack = explicitStack();
    const central = new HybridFleetCentral(stack, 'Central', props);
    const template = Template.fromStack(stack);
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as any[];
    expect(alarms).toHaveLength(3);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([stack.resolve(central.topic.topicArn)]);
      expect(alarm.Properties.Metrics.filter((m: any) => m.MetricStat).map((m: any) => m.AccountId)).toEqual([undefined, ...MEMBERS]);
    }
    const [dash] = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as any[];
    const body = JSON.stringify(dash.Properties.DashboardBody);
    for (const account of [CENTRAL, ...MEMBERS]) for (const region of ['eu-west-1', 'us-east-1']) expect(body).toContain(`${account} ${region}`);
  });

  test('reference() and the outputs carry what a member needs', () => {
    const stack = explicitStack();
    const key = customerKey(stack);
    const central = new HybridFleetCentral(stack, 'Central', { ...props, encryptionKey: key, inventoryBucketName: 'fleet-inventory', alertBusName: 'fleet-alerts' });
    const ref = stack.resolve(central.reference());
    expect(ref).toMatchObject({
      account: CENTRAL, region: 'eu-west-1', inventoryBucketName: 'fleet-inventory', inventoryBucketPrefix: 'inventory',
      inventoryKeyArn: stack.resolve(key.keyArn),
      alertBusArn: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':events:eu-west-1:111122223333:event-bus/fleet-alerts']] },
      observabilitySinkArns: { 'eu-west-1': stack.resolve(central.observabilitySink!.sinkArn) },
    });
    const outputs = Template.fromStack(stack).toJSON().Outputs;
    const byDescription = (text: string) => Object.values(outputs).find((o: any) => o.Description.includes(text)) as any;
    expect(byDescription('Central inventory bucket').Value).toBe('fleet-inventory');
    expect(byDescription('Key prefix').Value).toBe('inventory');
    expect(byDescription('KMS key').Value).toEqual(stack.resolve(key.keyArn));
    expect(byDescription('OAM sink').Value).toEqual(stack.resolve(central.observabilitySink!.sinkArn));
    expect(byDescription('alert bus').Value).toEqual(stack.resolve(central.alertBus.eventBus.eventBusArn));
  });

  test('passes every gate', () => {
    const stack = explicitStack();
    new HybridFleetCentral(stack, 'Central', props);
    expect(allFindings(stack.node.root as never)).toEqual([]);
  });
});

test('every optional part can be turned off', () => {
  const stack = explicitStack();
  const central = new HybridFleetCentral(stack, 'Central', { memberAccounts: MEMBERS, queryLayer: false, observability: false, dashboard: false });
  const template = Template.fromStack(stack);
  expect([central.queryLayer, central.observabilitySink, central.dashboard]).toEqual([undefined, undefined, undefined]);
  template.resourceCountIs('AWS::Glue::Database', 0);
  template.resourceCountIs('AWS::Oam::Sink', 0);
  template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
  template.resourceCountIs('AWS::Events::EventBus', 1);
  expect(stack.resolve(central.reference()).observabilitySinkArns).toBeUndefined();
});

test('cross-account members in an environment-agnostic stack: a warning says what to set', () => {
  const stack = new Stack(testApp(), 'Agnostic');
  new HybridFleetCentral(stack, 'Central', { memberAccounts: MEMBERS, dashboard: false });
  const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('Set `inventoryBucketName`, or give the stack env.account and env.region'));
  expect(warnings).toHaveLength(1);
});

describe('validation', () => {
  test.each<[string, HybridFleetCentralProps, string]>([
    ['bad org id', { organizationId: 'o-1' }, "`organizationId` must match ^o-[a-z0-9]{10,32}$ (an AWS Organizations id), got: 'o-1'"],
    ['bad member account', { memberAccounts: ['12345678901'] }, "`memberAccounts` must hold only 12-digit account ids, got: '12345678901'"],
    ['member account twice', { memberAccounts: [MEMBERS[0], MEMBERS[0]] }, "`memberAccounts` must not list a value twice, got: '444455556666' more than once"],
    ['bad Region', { memberRegions: ['europe'] }, "`memberRegions` must hold only Region codes such as eu-west-1 or us-gov-west-1, got: 'europe'"],
    ['Region twice', { memberRegions: ['us-east-1', 'us-east-1'] }, "`memberRegions` must not list a value twice, got: 'us-east-1' more than once"],
    ['organizationSyncs without an organization', { organizationSyncs: true }, '`organizationSyncs` needs `organizationId` (the organization whose accounts may deliver), got: organizationSyncs true without it'],
  ])('%s', (_, props, message) => {
    expect(() => new HybridFleetCentral(explicitStack(), 'Central', props)).toThrow(`${message} (at Central/Central)`);
  });

  test('more member accounts than one dashboard\'s alarms read: says to turn the dashboard off, which then works', () => {
    const memberAccounts = Array.from({ length: 10 }, (_, i) => `4444555566${String(i).padStart(2, '0')}`);
    expect(() => new HybridFleetCentral(explicitStack(), 'Central', { memberAccounts })).toThrow(
      "`memberAccounts` with `dashboard` on: the dashboard's alarms read at most 10 accounts in this Region, got: 11 (this account included); set `dashboard: false` and add ComplianceDashboards with `sources` over groups of accounts (at Central/Central)",
    );
    expect(() => new HybridFleetCentral(explicitStack(), 'Central', { memberAccounts, dashboard: false })).not.toThrow();
  });
});
