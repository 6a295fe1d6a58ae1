#!/usr/bin/env node
// The roles a GitHub Actions workflow deploys the example with, from the tooling account: no access keys, a GitHub
// OIDC token exchanged for a role session. Synth: `npx cdk synth -a "node -r ./scripts/ts-register.js bin/ci-roles.ts"`.
// The roles may assume only the CDK bootstrap roles of the fleet's accounts and Regions (bootstrapped with
// `--trust <tooling account>`), so they never hold the rights to create resources themselves.
import { App, Aws, Stack, StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { CENTRAL, FLEET_REGIONS, MEMBER_ACCOUNTS } from './example';
import { TOOLING } from './pipeline';

/** GitHub's OIDC issuer and the audience aws-actions/configure-aws-credentials asks for. */
const ISSUER = 'token.actions.githubusercontent.com';
const AUDIENCE = 'sts.amazonaws.com';

/** Properties of the CI roles stack. */
export interface GitHubCiRolesStackProps extends StackProps {
  /** The repository, `ORG/REPO`. */
  readonly repository: string;
  /** The accounts and Regions the workflow deploys to (each bootstrapped with `--trust` this account). */
  readonly targets: { readonly account: string; readonly region: string }[];
}

/** An OIDC provider for GitHub and two roles: deploy (pushes to main) and diff (pull requests, read-only). */
export class GitHubCiRolesStack extends Stack {
  public readonly deployRole: iam.Role;
  public readonly diffRole: iam.Role;

  constructor(scope: Construct, id: string, props: GitHubCiRolesStackProps) {
    super(scope, id, props);
    const provider = new iam.OidcProviderNative(this, 'GitHub', { url: `https://${ISSUER}`, clientIds: [AUDIENCE] });
    const from = (subject: string): iam.IPrincipal =>
      new iam.OpenIdConnectPrincipal(provider, { StringEquals: { [`${ISSUER}:aud`]: AUDIENCE, [`${ISSUER}:sub`]: subject } });
    const bootstrapRoles = (kinds: string[]): string[] => props.targets.flatMap(({ account, region }) =>
      kinds.map((kind) => `arn:${Aws.PARTITION}:iam::${account}:role/cdk-hnb659fds-${kind}-role-${account}-${region}`));

    this.deployRole = new iam.Role(this, 'Deploy', {
      roleName: 'hybrid-fleet-ci-deploy',
      description: `cdk deploy from ${props.repository} main: may assume only the CDK bootstrap roles of the fleet`,
      assumedBy: from(`repo:${props.repository}:ref:refs/heads/main`),
    });
    new iam.ManagedPolicy(this, 'DeployPolicy', {
      roles: [this.deployRole],
      statements: [new iam.PolicyStatement({ actions: ['sts:AssumeRole'], resources: bootstrapRoles(['deploy', 'file-publishing', 'lookup']) })],
    });

    // cdk diff reads the deployed templates through the lookup role (read-only); no deploy role for pull requests.
    this.diffRole = new iam.Role(this, 'Diff', {
      roleName: 'hybrid-fleet-ci-diff',
      description: `cdk diff --no-change-set on pull requests of ${props.repository}: may assume only the CDK lookup roles`,
      assumedBy: from(`repo:${props.repository}:pull_request`),
    });
    new iam.ManagedPolicy(this, 'DiffPolicy', {
      roles: [this.diffRole],
      statements: [new iam.PolicyStatement({ actions: ['sts:AssumeRole'], resources: bootstrapRoles(['lookup']) })],
    });
  }
}

export function buildCiRolesApp(app: App = new App(process.env.CDK_OUTDIR ? {} : { outdir: 'cdk.out' })): App {
  new GitHubCiRolesStack(app, 'GitHubCiRoles', {
    env: TOOLING,
    description: 'GitHub Actions OIDC roles that deploy the example hybrid fleet',
    repository: 'example-org/hybrid-fleet',
    // The central account (its home Region and the Regions of its OAM sinks) and every member account and Region.
    targets: [CENTRAL.account, ...MEMBER_ACCOUNTS].flatMap((account) => FLEET_REGIONS.map((region) => ({ account, region }))),
  });
  return app;
}

if (require.main === module) {
  buildCiRolesApp().synth();
}
