import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildCiRolesApp } from '../../bin/ci-roles';
import { cdkJsonApp, nagFindings, synthFindings } from '../support/gates';

// The GitHub OIDC roles of bin/ci-roles.ts: who may assume them, and that they may assume only CDK bootstrap roles.

let app: App;
let template: Template;
beforeAll(() => {
  app = buildCiRolesApp(cdkJsonApp());
  template = Template.fromStack(app.node.findChild('GitHubCiRoles') as Stack);
});

/** The trust conditions and the resources the role's policies allow, by role name. */
function role(name: string): { conditions: unknown; assumes: string[] } {
  const [logicalId, resource] = Object.entries(template.findResources('AWS::IAM::Role')).find(([, r]) => r.Properties.RoleName === name)!;
  const [statement] = resource.Properties.AssumeRolePolicyDocument.Statement;
  const policies = Object.values(template.findResources('AWS::IAM::ManagedPolicy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(logicalId));
  const assumes = policies.flatMap((p) => p.Properties.PolicyDocument.Statement)
    .flatMap((s: { Action: string; Resource: unknown }) => {
      expect(s.Action).toBe('sts:AssumeRole');
      return [s.Resource].flat().map((r) => JSON.stringify(r).replace(/.*:iam::/, '').replace(/"\]\]}$/, ''));
    });
  return { conditions: { action: statement.Action, ...statement.Condition }, assumes: assumes.sort() };
}

test('a native OIDC provider for GitHub with the STS audience, no custom resource', () => {
  template.hasResourceProperties('AWS::IAM::OIDCProvider', { Url: 'https://token.actions.githubusercontent.com', ClientIdList: ['sts.amazonaws.com'] });
  expect(Object.keys(template.findResources('AWS::Lambda::Function'))).toEqual([]);
});

test('the deploy role: only main of the repository, only the bootstrap deploy, file-publishing and lookup roles', () => {
  const deploy = role('hybrid-fleet-ci-deploy');
  expect(deploy.conditions).toEqual({
    action: 'sts:AssumeRoleWithWebIdentity',
    StringEquals: {
      'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
      'token.actions.githubusercontent.com:sub': 'repo:example-org/hybrid-fleet:ref:refs/heads/main',
    },
  });
  expect(deploy.assumes).toHaveLength(18); // 3 accounts × 2 Regions × 3 roles;
  expect(deploy.assumes).toContain('111122223333:role/cdk-hnb659fds-deploy-role-111122223333-eu-west-1');
  expect(deploy.assumes).toContain('444455556666:role/cdk-hnb659fds-file-publishing-role-444455556666-us-east-1');
  expect(deploy.assumes).toContain('777788889999:role/cdk-hnb659fds-deploy-role-777788889999-us-east-1');
  for (const arn of deploy.assumes) expect(arn).toMatch(/^(\d{12}):role\/cdk-hnb659fds-(deploy|file-publishing|lookup)-role-\1-[a-z]+-[a-z]+-\d$/);
});

test('the diff role: only pull requests of the repository, only the lookup roles', () => {
  const diff = role('hybrid-fleet-ci-diff');
  expect(diff.conditions).toEqual({
    action: 'sts:AssumeRoleWithWebIdentity',
    StringEquals: {
      'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
      'token.actions.githubusercontent.com:sub': 'repo:example-org/hybrid-fleet:pull_request',
    },
  });
  expect(diff.assumes).toHaveLength(6);
  for (const arn of diff.assumes) expect(arn).toMatch(/^(\d{12}):role\/cdk-hnb659fds-lookup-role-\1-[a-z]+-[a-z]+-\d$/);
});

test('passes every gate', () => {
  expect([...nagFindings(app), ...synthFindings(app)]).toEqual([]);
});
