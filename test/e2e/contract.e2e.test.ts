/**
 * The construct ↔ handler contract, statically: every variable a construct puts in a function's environment is read
 * by that function's bundle and documented in docs/handler-contract.md, and every tuning knob the e2e tests may set
 * is one the bundle reads. The e2e tests run the bundles with the synthesized environments (test/support/e2e.ts);
 * this file catches what they cannot: a variable the construct renames while the handler falls back to a default.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { ActivationJanitor, HybridActivationApi } from '../../lib';
import { synthesizedEnvironments, type FunctionEnv } from '../support/construct-env';
import { TUNING_KNOBS } from '../support/e2e';

const ROOT = path.join(__dirname, '..', '..');
const CONTRACT = readFileSync(path.join(ROOT, 'docs', 'handler-contract.md'), 'utf8');
/** Set by the Lambda function for the SDK, not read by the handler's own code. */
const FOR_THE_SDK = ['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'];

const bundleSource = (name: string) => readFileSync(path.join(ROOT, 'assets', name, 'index.js'), 'utf8');
/** `'NAME'` (our env helpers) or `env.NAME` (the SDK). */
const readsVariable = (source: string, name: string) => new RegExp(`["'\`]${name}["'\`]|\\benv\\.${name}\\b`).test(source);

/** Every function of each handler, in an API with every optional function and in a standalone janitor. */
const environments: Record<string, FunctionEnv[]> = (() => {
  const build = (name: string) => synthesizedEnvironments(name, [
    (stack) => new HybridActivationApi(stack, 'Activations', {
      markerTagValue: 'contract', allowedTags: [{ key: 'Team' }], deregisterOfflineAfter: Duration.days(7),
      callerNameRules: [{ caller: 'arn:aws:sts::111122223333:assumed-role/DataCentre1/*', names: 'dc1-*' }],
    }),
    (stack) => new ActivationJanitor(stack, 'Janitor', {
      api: HybridActivationApi.fromHybridActivationApiAttributes(stack, 'Api', { markerTagValue: 'contract' }),
      instanceRole: iam.Role.fromRoleName(stack, 'Role', 'HybridFleetInstanceRole'),
    }),
  ]).flat();
  return { 'create-activation': build('create-activation'), 'tag-node': build('tag-node'), 'janitor': build('janitor') };
})();

describe.each(Object.keys(environments))('%s', (name) => {
  test('the constructs build it (one function per API, one per janitor)', () => {
    expect(environments[name]).toHaveLength(name === 'janitor' ? 2 : 1);
  });

  test('every variable a construct sets is read by the bundle', () => {
    const source = bundleSource(name);
    const set = [...new Set(environments[name].flatMap((env) => Object.keys(env)))];
    expect(set.filter((v) => !readsVariable(source, v))).toEqual([]);
  });

  test('every variable a construct sets is in docs/handler-contract.md', () => {
    const set = [...new Set(environments[name].flatMap((env) => Object.keys(env)))].filter((v) => !FOR_THE_SDK.includes(v));
    expect(set.filter((v) => !CONTRACT.includes(`\`${v}\``))).toEqual([]);
  });
});

test('every tuning knob of the e2e tests is read by a bundle', () => {
  const sources = Object.keys(environments).map(bundleSource);
  expect(TUNING_KNOBS.filter((knob) => !sources.some((source) => readsVariable(source, knob)))).toEqual([]);
});
