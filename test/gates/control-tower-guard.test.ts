import { Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { PatchBaseline, PatchLogBucket, PatchOperatingSystem } from '../../lib';
import { Finding, synthFindings, testApp } from '../support/gates';

// The gates run the Control Tower rules through test/support/control-tower-guard.ts, which leaves out the rule files
// that name none of a template's resource types, and the resources those files can neither select nor reach through a
// reference. It must find exactly what the whole rule set finds over the whole templates.

function brokenApp() {
  const app = testApp();
  const stack = new Stack(app, 'Broken');
  new PatchLogBucket(stack, 'PatchLogs');
  new s3.Bucket(stack, 'Unsafe');
  new sns.Topic(stack, 'Plain');
  // A Lambda permission whose SourceArn refers to an EventBridge rule, a type no Lambda rule file names: CT.LAMBDA.PR.2
  // accepts it only when the rule it refers to is in the template.
  const fn = new lambda.Function(stack, 'Handler', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => {};') });
  new events.Rule(stack, 'Schedule', { schedule: events.Schedule.rate(Duration.hours(1)), targets: [new targets.LambdaFunction(fn)] });
  return app;
}

test('the focused Control Tower guard reports exactly what the whole rule set reports', () => {
  // aws-cdk-lib prints the report of a deliberately broken app on stderr: expected here, so it is kept out of the output.
  const printed = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  let focused, full;
  try {
    focused = synthFindings(brokenApp());
    full = synthFindings(brokenApp(), () => new CfnGuardValidator({ controlTowerRulesEnabled: true }));
  } finally {
    printed.mockRestore();
  }
  const rules = (findings: Finding[]) => findings.map((f) => `${f.rule} ${f.paths.join(',')}`).sort();
  expect(rules(focused).length).toBeGreaterThan(3);
  expect(rules(focused)).toEqual(rules(full));
});

test('a stack no rule can match is reported clean, as the whole rule set reports it', () => {
  const baselinesOnly = () => {
    const app = testApp();
    const stack = new Stack(app, 'Baselines');
    PatchBaseline.criticalAndSecurityUpdates(stack, 'Linux', { operatingSystem: PatchOperatingSystem.AMAZON_LINUX_2023 });
    return app;
  };
  expect(synthFindings(baselinesOnly(), () => new CfnGuardValidator({ controlTowerRulesEnabled: true }))).toEqual([]);
  expect(synthFindings(baselinesOnly())).toEqual([]);
});
