/**
 * The construct ↔ handler contract of the end-to-end tests: the environment a construct gives each of its handler
 * functions, read from the synthesized template (`Environment.Variables`) with every token resolved to a
 * deterministic fake value (pseudo parameters, `Ref`s and `Fn::GetAtt`s become plausible names and ARNs). The e2e
 * tests run the bundles with exactly these values, so a variable renamed on either side fails them. No jest imports.
 */
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { testApp } from './gates';

/** The fake deployment the tokens resolve into. */
export const FAKE_ACCOUNT = '111122223333';
export const FAKE_REGION = 'eu-west-1';
export const FAKE_STACK_NAME = 'HybridFleetE2e';

/** A handler's environment as the construct sets it. */
export type FunctionEnv = Readonly<Record<string, string>>;

interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, any>;
}

const PSEUDO: Readonly<Record<string, string>> = {
  'AWS::AccountId': FAKE_ACCOUNT,
  'AWS::Region': FAKE_REGION,
  'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': FAKE_STACK_NAME,
  'AWS::StackId': `arn:aws:cloudformation:${FAKE_REGION}:${FAKE_ACCOUNT}:stack/${FAKE_STACK_NAME}/00000000-0000-4000-8000-000000000000`,
  'AWS::NoValue': '',
};

/** The physical name CloudFormation would generate for a resource: stack name, logical id, a suffix. */
function physicalName(logicalId: string, resource: CfnResource, max = 64): string {
  const given = resource.Properties?.RoleName ?? resource.Properties?.FunctionName ?? resource.Properties?.Name;
  if (typeof given === 'string') return given;
  return `${FAKE_STACK_NAME}-${logicalId}`.slice(0, max - 13) + '-E2EFAKE0001';
}

/** `arn:aws:<service>:…` for a resource, by type (IAM is global, so no Region). */
function arnOf(logicalId: string, resource: CfnResource): string {
  const [, service, kind] = resource.Type.split('::').map((s) => s.toLowerCase());
  const name = physicalName(logicalId, resource);
  if (service === 'iam') return `arn:aws:iam::${FAKE_ACCOUNT}:${kind}/${name}`;
  return `arn:aws:${service}:${FAKE_REGION}:${FAKE_ACCOUNT}:${kind}/${name}`;
}

/**
 * Resolves CloudFormation intrinsics (`Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Select`, `Fn::Split`, `Fn::Sub` without a
 * variable map) to strings; throws on anything else, so a new kind of token fails loudly instead of resolving wrongly.
 */
export function resolveIntrinsics(value: unknown, resources: Readonly<Record<string, CfnResource>>): any {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map((v) => resolveIntrinsics(v, resources));
  if (typeof value !== 'object' || value === null) throw new Error(`cannot resolve ${JSON.stringify(value)}`);
  const entries = Object.entries(value);
  if (entries.length !== 1) throw new Error(`cannot resolve ${JSON.stringify(value)}`);
  const [fn, arg] = entries[0] as [string, any];
  const resource = (id: string) => {
    const r = resources[id];
    if (!r) throw new Error(`no resource ${id} in the template`);
    return r;
  };
  switch (fn) {
    case 'Ref':
      if (arg in PSEUDO) return PSEUDO[arg];
      return physicalName(arg, resource(arg));
    case 'Fn::GetAtt': {
      const [id, attr] = Array.isArray(arg) ? arg : String(arg).split('.');
      if (attr === 'Arn') return arnOf(id, resource(id));
      return `${physicalName(id, resource(id))}-${attr}`;
    }
    case 'Fn::Join': {
      const [sep, parts] = arg;
      return (resolveIntrinsics(parts, resources) as string[]).join(sep);
    }
    case 'Fn::Select': {
      const [index, list] = arg;
      return resolveIntrinsics(list, resources)[Number(resolveIntrinsics(index, resources))];
    }
    case 'Fn::Split': {
      const [sep, text] = arg;
      return String(resolveIntrinsics(text, resources)).split(sep);
    }
    case 'Fn::Sub':
      if (typeof arg !== 'string') throw new Error(`cannot resolve Fn::Sub with a variable map: ${JSON.stringify(arg)}`);
      return arg.replace(/\$\{([^}]+)\}/g, (_, name: string) =>
        name.includes('.') ? resolveIntrinsics({ 'Fn::GetAtt': name.split('.') }, resources) : resolveIntrinsics({ Ref: name }, resources));
    default:
      throw new Error(`cannot resolve ${fn}: ${JSON.stringify(arg)}`);
  }
}

const assetHashes = new Map<string, string>();

/** The asset hash of the bundle folder `assets/<name>`: a function whose code is that bundle has `S3Key: <hash>.zip`. */
function bundleAssetHash(name: string): string {
  let hash = assetHashes.get(name);
  if (hash === undefined) {
    const scratch = new Stack(testApp(), 'Scratch');
    hash = new s3assets.Asset(scratch, 'Bundle', { path: path.resolve(__dirname, '..', '..', 'assets', name) }).assetHash;
    assetHashes.set(name, hash);
  }
  return hash;
}

/**
 * Builds each of `builds` in its own environment-agnostic stack of one `testApp()` (the first is named
 * {@link FAKE_STACK_NAME}, the others get a numeric suffix), synthesizes them all once, and returns per build the
 * resolved environment of every function whose code is the bundle `assets/<handlerName>`, in template order.
 */
export function synthesizedEnvironments(handlerName: string, builds: readonly ((stack: Stack) => void)[]): FunctionEnv[][] {
  const app = testApp();
  const names = builds.map((build, i) => {
    const stackName = i === 0 ? FAKE_STACK_NAME : `${FAKE_STACK_NAME}${i}`;
    build(new Stack(app, stackName));
    return stackName;
  });
  const assembly = app.synth();
  const key = `${bundleAssetHash(handlerName)}.zip`;
  return names.map((stackName) => {
    const resources = (assembly.getStackByName(stackName).template as { Resources: Record<string, CfnResource> }).Resources;
    return Object.values(resources)
      .filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties?.Code?.S3Key === key)
      .map((r) => Object.fromEntries(Object.entries<unknown>(r.Properties?.Environment?.Variables ?? {})
        .map(([k, v]) => [k, String(resolveIntrinsics(v, resources))])));
  });
}
