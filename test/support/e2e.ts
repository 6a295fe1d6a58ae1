/**
 * Shared setup of the end-to-end tests (test/e2e): the bundle of a handler, the SSM stub's lifecycle, the environment
 * a bundled handler needs to reach the stub, and the error-answer assertions of the API handlers. Uses jest globals:
 * no script may import this file.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { APIGatewayProxyResult, Context } from 'aws-lambda';
import { headerOf, startHandlerProcess, type HandlerProcess } from './handler-process';
import { SsmStub } from './ssm-stub';

/** What every bundled handler needs besides its own variables: a region and dummy credentials. */
const STUB_AWS_ENV: Readonly<Record<string, string>> = {
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

/** The e2e set-up of one test file: see {@link useE2e}. */
export interface E2e {
  /** The bundle, `assets/<name>/index.js`. */
  readonly bundle: string;
  readonly stub: SsmStub;
  /** Closed (and forgotten) after each test. */
  readonly closeAfterTest: Set<{ close(): Promise<void> }>;
  /**
   * The handler's environment: region and dummy credentials, `handlerEnv`, the stub's endpoint
   * (`AWS_ENDPOINT_URL_SSM`), then `overrides` (`undefined` removes a variable).
   */
  env(overrides?: Readonly<Record<string, string | undefined>>): Record<string, string | undefined>;
  /**
   * Starts the bundle in a child process with `env(overrides)`. Rejects with the load error when the bundle throws at
   * cold start. Closed after the test unless `shared`.
   */
  startHandler(overrides?: Readonly<Record<string, string | undefined>>, shared?: boolean): Promise<HandlerProcess>;
}

/**
 * For the bundle `assets/<name>/index.js` (throws now when it was not built): registers, in the calling test file,
 * hooks that start an {@link SsmStub} before all tests, reset it before each, close what `closeAfterTest` holds after
 * each, and stop the stub after all.
 */
export function useE2e(name: string, handlerEnv: Readonly<Record<string, string>>): E2e {
  const bundle = path.resolve(__dirname, '..', '..', 'assets', name, 'index.js');
  if (!existsSync(bundle)) {
    throw new Error(`${bundle} not found: run npm run bundle (npm test bundles first)`);
  }
  const stub = new SsmStub();
  const closeAfterTest = new Set<{ close(): Promise<void> }>();

  beforeAll(async () => {
    await stub.start();
  });
  afterAll(async () => {
    await stub.stop();
  });
  beforeEach(() => {
    stub.reset();
  });
  afterEach(async () => {
    await Promise.all([...closeAfterTest].map((p) => p.close()));
    closeAfterTest.clear();
  });

  const env = (overrides: Readonly<Record<string, string | undefined>> = {}) =>
    ({ ...STUB_AWS_ENV, ...handlerEnv, AWS_ENDPOINT_URL_SSM: stub.url, ...overrides });
  return {
    bundle,
    stub,
    closeAfterTest,
    env,
    startHandler: async (overrides = {}, shared = false) => {
      const proc = await startHandlerProcess(bundle, env(overrides));
      if (!shared) closeAfterTest.add(proc);
      return proc;
    },
  };
}

/** One API Gateway invocation: the response, its body (parsed when it is JSON) and the context it ran with. */
export interface ApiInvocation {
  readonly res: APIGatewayProxyResult;
  readonly body: any;
  readonly ctx: Context;
}

/** A response body parsed as JSON, or the raw string when it is not JSON. */
export function parseBody(res: APIGatewayProxyResult): any {
  try {
    return JSON.parse(res.body);
  } catch {
    return res.body;
  }
}

/** A JSON error answer `{message, requestId}` with this status. */
export function expectError(inv: ApiInvocation, status: number): void {
  expect({ status: inv.res.statusCode, body: inv.body }).toEqual({
    status,
    body: { message: expect.any(String), requestId: inv.ctx.awsRequestId },
  });
  expect(headerOf(inv.res, 'content-type')).toMatch(/^application\/json/);
}

/** A JSON 503 error answer with `Retry-After: 5`. */
export function expect503(inv: ApiInvocation): void {
  expectError(inv, 503);
  expect(headerOf(inv.res, 'retry-after')).toBe('5');
}
