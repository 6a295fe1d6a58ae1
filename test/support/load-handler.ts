/**
 * Loads a handler in the jest process for the adapter tests (test/lambda/*.adapter.test.ts): sets the environment,
 * then requires fresh copies of the SDK and the handler (module scope reads the environment once) and mocks that
 * copy's SSMClient. Uses jest globals: no script may import this file.
 */
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';

export type SsmModule = typeof import('@aws-sdk/client-ssm');

/** A freshly loaded handler, the SDK copy it uses, and the mock of that copy's SSMClient. */
export interface LoadedHandler<H> {
  readonly handler: H;
  readonly ssm: SsmModule;
  readonly mock: AwsClientStub<InstanceType<SsmModule['SSMClient']>>;
}

/** What every handler needs besides its own variables: a region and dummy credentials (the SDK is mocked). */
const SDK_ENV: Readonly<Record<string, string>> = {
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'example-secret',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

/** The environment of the test file before any handler was loaded. */
const savedEnv = { ...process.env };

/** Puts back the environment the test file started with (for `afterAll`). */
export function restoreEnv(): void {
  process.env = savedEnv;
}

/**
 * Sets `process.env` to the file's starting environment, a region and dummy credentials, then `env` (`undefined`
 * removes a variable); then calls `requireHandler` (which must `require` the handler module) in an isolated module
 * registry.
 */
export function loadHandler<H>(requireHandler: () => { handler: H }, env: Readonly<Record<string, string | undefined>>): LoadedHandler<H> {
  process.env = { ...savedEnv };
  for (const [key, value] of Object.entries({ ...SDK_ENV, ...env })) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  let loaded: LoadedHandler<H> | undefined;
  jest.isolateModules(() => {
    const ssm = require('@aws-sdk/client-ssm') as SsmModule;
    const mock = mockClient(ssm.SSMClient);
    const { handler } = requireHandler();
    loaded = { handler, ssm, mock };
  });
  if (loaded === undefined) throw new Error('handler did not load');
  return loaded;
}
