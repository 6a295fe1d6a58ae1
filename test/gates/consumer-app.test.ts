import * as fs from 'fs';
import * as path from 'path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks } from 'cdk-nag';
import { HybridActivationApi } from '../../lib';

// The README's "Using cdk-nag v3 in your app" snippet, run as a consumer runs it: the nag packs registered as
// validation plugins of the App (cdk-nag v3 is not an Aspect), a stack with an explicit account and Region, and the
// consumer's own acknowledgement for the inline policy `grantInvoke` adds to their role. Synthesis throws on any
// unacknowledged error. The lines between the README markers below are checked to appear in README.md verbatim.

function consumerApp(acknowledgeInlinePolicy: boolean): App {
  const app = new App({ context: { '@aws-cdk/core:validateAgainstDefaultRules': true } });
  // README:consumer-nag:start
  const stack = new Stack(app, 'Fleet', { env: { account: '111122223333', region: 'eu-west-1' } });
  const api = new HybridActivationApi(stack, 'Activations', { markerTagValue: 'fleet-eu-west-1' });

  const bootRole = new iam.Role(stack, 'BootRole', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
  api.grantInvoke(bootRole); // an inline policy on your role: your choice, so your acknowledgement
  // README:consumer-nag:acknowledge
  if (acknowledgeInlinePolicy) {
    Validations.of(bootRole).acknowledge(
      { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: 'The boot role only calls the activation API; its policy lives and dies with it' },
      { id: 'HIPAA.Security-IAMNoInlinePolicy', reason: 'The boot role only calls the activation API; its policy lives and dies with it' },
    );
  }
  // README:consumer-nag:plugins
  // (api.invokeManagedPolicy().attachToRole(bootRole) grants the same without an inline policy.)

  // cdk-nag v3 packs are validation plugins: Aspects.of(app).add(new AwsSolutionsChecks()) throws with v3.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new NIST80053R5Checks(app), new HIPAASecurityChecks(app));
  // README:consumer-nag:end
  return app;
}

test('the README snippet synthesizes with every nag pack as a plugin and zero unacknowledged errors', () => {
  const app = consumerApp(true);
  expect(() => app.synth()).not.toThrow();
});

test('without the consumer acknowledgement, synthesis fails on the inline policy of their own role (and only on it)', () => {
  const app = consumerApp(false);
  let message = '';
  try {
    app.synth();
  } catch (e) {
    message = (e as Error).message;
  }
  expect(message).toMatch(/NIST\.800\.53\.R5-IAMNoInlinePolicy/);
  expect(message).toMatch(/HIPAA\.Security-IAMNoInlinePolicy/);
  expect(message).toMatch(/Fleet\/BootRole\/DefaultPolicy/);
  expect(message).not.toMatch(/AwsSolutions-IAM5/);
});

test('the README shows the snippet exactly as tested here', () => {
  const source = fs.readFileSync(__filename, 'utf8');
  const between = (from: string, to: string): string[] =>
    source.split(`// README:consumer-nag:${from}\n`)[1].split(`  // README:consumer-nag:${to}`)[0].trimEnd().split('\n');
  const acknowledge = between('acknowledge', 'plugins').slice(1, -1).map((line) => line.replace(/^ {2}/, ''));
  const lines = [...between('start', 'acknowledge'), ...acknowledge, ...between('plugins', 'end')];
  const snippet = lines.map((line) => line.replace(/^ {2}/, '')).join('\n');
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  expect(snippet).toContain('Validations.of(bootRole).acknowledge(');
  expect(readme).toContain(snippet);
});
