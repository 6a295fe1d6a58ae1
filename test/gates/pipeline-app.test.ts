import { App, Stack, Stage } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Construct } from 'constructs';
import type { FleetMemberStackProps } from '../../bin/example';
import { buildPipelineApp } from '../../bin/pipeline';
import { cdkJsonApp, Finding, nagFindings, synthFindings } from '../support/gates';

// The CDK Pipelines example (bin/pipeline.ts), synthesized offline with the context of cdk.json (schema validation
// on): the pipeline's shape, and every stack (the pipeline stack, its cross-Region support stack, and the stacks of
// the stages, which are nested assemblies) through the gates. Built and checked once for the file.

interface Action { Name: string; ActionTypeId: { Category: string }; RunOrder: number; Region?: string; RoleArn: unknown }
interface PipelineStage { Name: string; Actions: Action[] }

let app: App;
let pipelineStack: Stack;
let stages: PipelineStage[];
let stacks: Stack[];
let synth: Finding[];

beforeAll(() => {
  app = buildPipelineApp(cdkJsonApp());
  // First: its forced synthesis is the one the Template reads below reuse (each synthesis validates every template).
  synth = synthFindings(app);
  pipelineStack = app.node.findChild('FleetPipeline') as Stack;
  const [pipeline] = Object.values(Template.fromStack(pipelineStack).findResources('AWS::CodePipeline::Pipeline'));
  stages = pipeline.Properties.Stages;
  stacks = app.node.findAll().filter((c): c is Stack => Stack.isStack(c));
});

/** The stacks of one pipeline stage (a `Stage` construct of the pipeline stack). */
function stageStacks(stageId: string): Stack[] {
  return stacks.filter((s) => Stage.of(s)?.node.path === `FleetPipeline/${stageId}`);
}

test('deploys central first, then the member accounts and Regions and then the fleet, each after a manual approval', () => {
  expect(stages.map((s) => s.Name)).toEqual(['Source', 'Build', 'UpdatePipeline', 'Assets', 'Central', 'Members', 'Fleet']);
  const category = (name: string): string[] => stages.find((s) => s.Name === name)!.Actions.map((a) => a.ActionTypeId.Category);
  expect(category('Central')).toEqual(['Deploy', 'Deploy', 'Deploy', 'Deploy']);
  expect(category('Central')).not.toContain('Approval');
  // The members wave starts with its approval; its change sets are prepared and executed only after it.
  const memberActions = stages.find((s) => s.Name === 'Members')!.Actions;
  const memberApproval = memberActions.find((a) => a.ActionTypeId.Category === 'Approval')!;
  expect(memberApproval.Name).toBe('ApproveMemberChanges');
  for (const deploy of memberActions.filter((a) => a.ActionTypeId.Category === 'Deploy')) expect(deploy.RunOrder).toBeGreaterThan(memberApproval.RunOrder);
  // The approval runs first in the Fleet stage; its change sets are prepared and executed only after it.
  const fleet = stages.find((s) => s.Name === 'Fleet')!.Actions;
  const approval = fleet.find((a) => a.ActionTypeId.Category === 'Approval')!;
  expect(approval.Name).toBe('ApproveEnforceChanges');
  for (const deploy of fleet.filter((a) => a.ActionTypeId.Category === 'Deploy')) expect(deploy.RunOrder).toBeGreaterThan(approval.RunOrder);
});

test('each stage deploys the example stacks to their accounts and Regions through the targets\' bootstrap deploy roles', () => {
  const targets = (name: string): string[] => [...new Set(stages.find((s) => s.Name === name)!.Actions
    .filter((a) => a.ActionTypeId.Category === 'Deploy')
    .map((a) => `${/iam::(\d{12}):role\/cdk-hnb659fds-deploy-role-\d{12}-([a-z0-9-]+)/.exec(JSON.stringify(a.RoleArn))?.slice(1).join('/')}`))].sort();
  expect(targets('Central')).toEqual(['111122223333/eu-west-1', '111122223333/us-east-1']);
  expect(targets('Members')).toEqual(['444455556666/us-east-1', '777788889999/eu-west-1', '777788889999/us-east-1']);
  expect(targets('Fleet')).toEqual(['111122223333/eu-west-1', '444455556666/eu-west-1']);

  expect(stageStacks('Central').map((s) => s.constructor.name)).toEqual(['FleetCentralStack', 'FleetCentralSinkStack']);
  expect(stageStacks('Fleet').map((s) => s.constructor.name)).toEqual(['HybridFleetExampleStack', 'FleetRolloutStack', 'FleetStackSetTemplate']);
  const members = stacks.filter((s) => s.constructor.name === 'FleetMemberStack');
  expect(members.map((s) => `${s.account}/${s.region}`).sort()).toEqual(['444455556666/us-east-1', '777788889999/eu-west-1', '777788889999/us-east-1']);
});

test('only the approved stages change what happens on enforce-mode nodes', () => {
  // Patch installs (maintenance window tasks), automatic remediation and an enforcing installer ring need approval.
  const enforcing = (stack: Stack): string[] => {
    const template = Template.fromStack(stack);
    const tasks = Object.keys(template.findResources('AWS::SSM::MaintenanceWindowTask')).map(() => 'patch install');
    const remediation = Object.values(template.findResources('AWS::Config::RemediationConfiguration'))
      .filter((r) => r.Properties.Automatic === true).map(() => 'automatic remediation');
    const installer = Object.values(template.findResources('AWS::SSM::Association'))
      .filter((a) => a.Properties.Parameters?.mode?.[0] === 'enforce').map(() => 'enforcing installer ring');
    return [...new Set([...tasks, ...remediation, ...installer])];
  };
  // The Central stage has no approval: nothing in it may act on the nodes.
  expect(stageStacks('Central').flatMap(enforcing)).toEqual([]);
  expect(enforcing(stageStacks('Fleet')[0])).toEqual(['patch install', 'enforcing installer ring']);
  // The members (and the StackSet's template) install patches on enforce-mode nodes: they are behind an approval too.
  expect(stacks.filter((s) => s.constructor.name === 'FleetMemberStack').map(enforcing)).toEqual([['patch install'], ['patch install'], ['patch install']]);
});

test('cross-account keys: artifacts encrypted with a rotated KMS key the targets can use, in every Region', () => {
  const template = Template.fromStack(pipelineStack);
  const [pipeline] = Object.values(template.findResources('AWS::CodePipeline::Pipeline'));
  const stores = pipeline.Properties.ArtifactStores as { Region: string; ArtifactStore: { EncryptionKey?: { Type: string } } }[];
  expect(stores.map((s) => [s.Region, s.ArtifactStore.EncryptionKey?.Type]).sort()).toEqual([['eu-west-1', 'KMS'], ['us-east-1', 'KMS']]);
  template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  expect(pipelineStack.account).toBe('999988887777');
});

test('the synth step runs the gates before it synthesizes the pipeline app', () => {
  const projects = Object.values(Template.fromStack(pipelineStack).findResources('AWS::CodeBuild::Project'));
  const synthProject = projects.find((p) => String(p.Properties.Source.BuildSpec).includes('cdk synth'))!;
  expect(JSON.parse(synthProject.Properties.Source.BuildSpec).phases.build.commands).toEqual([
    'npm ci', 'npm test', 'npx cdk synth -a "node -r ./scripts/ts-register.js bin/pipeline.ts"',
  ]);
});

test('every stack of the pipeline app passes cdk-nag and cfn-guard with nothing unacknowledged', () => {
  expect(stacks.map((s) => s.node.path).sort()).toEqual([
    'FleetPipeline',
    'FleetPipeline/Central/FleetCentral',
    'FleetPipeline/Central/FleetCentralSink-us-east-1',
    'FleetPipeline/Fleet/FleetRollout',
    'FleetPipeline/Fleet/FleetRollout/Member',
    'FleetPipeline/Fleet/HybridFleetExample',
    'FleetPipeline/Member-444455556666-us-east-1/FleetMember',
    'FleetPipeline/Member-777788889999-eu-west-1/FleetMember',
    'FleetPipeline/Member-777788889999-us-east-1/FleetMember',
    'cross-region-stack-999988887777:us-east-1',
  ]);
  for (const stack of stacks) expect({ stack: stack.node.path, findings: nagFindings(stack) }).toEqual({ stack: stack.node.path, findings: [] });
  expect(synth).toEqual([]);
});

test('the gates reach into the stages\' nested assemblies', () => {
  // A member stack with a broken bucket, in a pipeline app built apart from the one above: CDK Pipelines synthesizes
  // each stage when it is added, so the bucket goes in through the stack class that bin/pipeline.ts instantiates. That
  // class comes from a mock of bin/example in a module registry of this test's own, where the pipeline app, the gates
  // and aws-cdk-lib are loaded afresh (so that all of them share one aws-cdk-lib).
  jest.isolateModules(() => {
    jest.doMock('../../bin/example', () => {
      const actual = jest.requireActual<typeof import('../../bin/example')>('../../bin/example');
      const { Bucket } = jest.requireActual<typeof import('aws-cdk-lib/aws-s3')>('aws-cdk-lib/aws-s3');
      class BrokenMemberStack extends actual.FleetMemberStack {
        constructor(scope: Construct, id: string, props: FleetMemberStackProps) {
          super(scope, id, props);
          new Bucket(this, 'Unsafe');
        }
      }
      return { ...actual, FleetMemberStack: BrokenMemberStack };
    });
    try {
      const cdk = jest.requireActual<typeof import('aws-cdk-lib')>('aws-cdk-lib');
      const gates = jest.requireActual<typeof import('../support/gates')>('../support/gates');
      const guard = jest.requireActual<typeof import('../support/control-tower-guard')>('../support/control-tower-guard');
      const { buildPipelineApp: buildBroken } = jest.requireActual<typeof import('../../bin/pipeline')>('../../bin/pipeline');
      const broken = buildBroken(gates.cdkJsonApp());
      const member = broken.node.findAll().find((c): c is Stack => cdk.Stack.isStack(c) && c.node.path === 'FleetPipeline/Member-444455556666-us-east-1/FleetMember')!;
      expect(gates.nagFindings(member).map((f) => f.rule)).toEqual(expect.arrayContaining(['AwsSolutions-S1']));
      const printed = jest.spyOn(console, 'error').mockImplementation(() => undefined);
      try {
        // The same plugin with the one control the bucket breaks: what is under test is which templates the plugin is
        // given, and the whole rule set over all seven templates costs some 14 s of CPU (the test above runs it).
        const findings = gates.synthFindings(broken, () => new guard.ControlTowerGuard(['ct-s3-pr-2']));
        expect(findings.filter((f) => f.paths.some((p) => p.includes('Member-444455556666-us-east-1/FleetMember/Unsafe'))).map((f) => f.rule))
          .toEqual(expect.arrayContaining(['s3_bucket_logging_enabled_check']));
      } finally {
        printed.mockRestore();
      }
    } finally {
      jest.dontMock('../../bin/example');
    }
  });
});
