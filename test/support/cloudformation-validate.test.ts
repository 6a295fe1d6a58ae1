import { Stack } from 'aws-cdk-lib';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { testApp } from './gates';

// The schema validator is shared by the worker and keeps each report by template text (cloudformation-validate-shared.js).
// A kept report must fail a synthesis exactly as a fresh one does, and name the file it was asked about.
const validate = require('@aws/cloudformation-validate');

function brokenApp() {
  const app = testApp();
  new ssm.CfnMaintenanceWindow(new Stack(app, 'Windows'), 'TooLong', {
    name: 'too-long', schedule: 'rate(7 days)', duration: 30, cutoff: 1, allowUnassociatedTargets: false,
  });
  return app;
}

test('a template met again still fails synthesis with the same schema error', () => {
  expect(() => brokenApp().synth()).toThrow(/greater than the maximum of 24/);
  expect(() => brokenApp().synth()).toThrow(/greater than the maximum of 24/);
});

test('a kept report names the file it was asked about and carries the same diagnostics', () => {
  const engine = new validate.CompositeEngine(undefined);
  const text = JSON.stringify({ Resources: { W: { Type: 'AWS::SSM::MaintenanceWindow', Properties: { Name: 'x', Schedule: 'rate(7 days)', Duration: 30, Cutoff: 1, AllowUnassociatedTargets: false } } } });
  const options = { detailLevel: 'STANDARD', severityLevel: 'WARN' };
  const first = engine.validateTemplate(new validate.TemplateContent(text, '/first/template.json'), options);
  const again = engine.validateTemplate(new validate.TemplateContent(text, '/again/template.json'), options);
  expect([first.filePath, again.filePath]).toEqual(['/first/template.json', '/again/template.json']);
  expect(again.diagnostics.map((d: { ruleId: string }) => d.ruleId)).toEqual(first.diagnostics.map((d: { ruleId: string }) => d.ruleId));
  expect(first.diagnostics.length).toBeGreaterThan(0);
  // Other options are another input: validated, not taken from the kept report.
  const errorsOnly = engine.validateTemplate(new validate.TemplateContent(text, '/third/template.json'), { ...options, severityLevel: 'ERROR' });
  expect([errorsOnly.filePath, errorsOnly.metadata.severityLevel, first.metadata.severityLevel]).toEqual(['/third/template.json', 'ERROR', 'WARN']);
});
