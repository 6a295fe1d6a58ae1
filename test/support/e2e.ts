/**
 * Shared setup of the end-to-end tests (test/e2e): the bundle of a handler, the environment its construct gives it
 * (synthesized, test/support/construct-env.ts), the SSM stub's lifecycle and the error-answer assertions of the API
 * handlers. Uses jest globals:
 * no script may import this file.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { Stack } from 'aws-cdk-lib';
import type { APIGatewayProxyResult, Context } from 'aws-lambda';
import { FAKE_REGION, synthesizedEnvironments, type FunctionEnv } from './construct-env';
import { HandlerPool, headerOf, type HandlerProcess, type HandlerProcessOptions } from './handler-process';
import { SsmStub } from './ssm-stub';

/** What the Lambda runtime gives every function besides the construct's variables: a region and credentials. */
const STUB_AWS_ENV: Readonly<Record<string, string>> = {
  AWS_REGION: FAKE_REGION,
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
};

/**
 * The handler variables a test may set on top of the construct's environment: the log level, and shorter SDK and
 * retry timings so that fault tests take milliseconds. Nothing else: every other variable comes from the synthesized
 * construct (test/support/construct-env.ts), and test/e2e/contract.e2e.test.ts checks that the bundle reads every
 * variable the construct sets, so a knob the construct renames fails there.
 */
export const TUNING_KNOBS = ['LOG_LEVEL', 'SSM_MAX_ATTEMPTS', 'SSM_REQUEST_TIMEOUT_MS', 'ROLE_RETRY_BASE_MS', 'CEILING_CACHE_SECONDS'] as const;

/** Values for some of the {@link TUNING_KNOBS}. */
export type Tuning = Partial<Record<(typeof TUNING_KNOBS)[number], string>>;

/** Builds, in an empty stack, the construct(s) whose function runs the bundle under test. */
export type Build = (stack: Stack) => void;

/** The e2e set-up of one test file: see {@link useE2e}. */
export interface E2e<C extends string> {
  /** The bundle, `assets/<name>/index.js`. */
  readonly bundle: string;
  readonly stub: SsmStub;
  /** Closed (and forgotten) after each test. */
  readonly closeAfterTest: Set<{ close(): Promise<void> }>;
  /** The environment the construct of configuration `config` gives the function, tokens resolved (no test additions). */
  constructEnv(config?: C): FunctionEnv;
  /**
   * The handler's environment: the region and credentials the Lambda runtime adds, the construct's environment of
   * `config` (default `'default'`), the stub's endpoint (`AWS_ENDPOINT_URL_SSM`), then the file's and this call's
   * `tuning`.
   */
  env(config?: C, tuning?: Tuning): Record<string, string | undefined>;
  /**
   * Starts the bundle in a child process with `env(config, tuning)`. Rejects with the load error when the bundle
   * throws at cold start. Closed after the test unless `shared`.
   */
  startHandler(config?: C, tuning?: Tuning, shared?: boolean): Promise<HandlerProcess>;
  /**
   * Starts the bundle with exactly `env` (from {@link E2e.env} or {@link E2e.brokenEnv}), like `startHandlerProcess`,
   * in a process of the file's {@link HandlerPool}. Rejects with the load error when the bundle throws at cold start.
   * The caller closes it.
   */
  startProcess<R = APIGatewayProxyResult>(env: Readonly<Record<string, string | undefined>>, options?: HandlerProcessOptions): Promise<HandlerProcess<R>>;
  /**
   * `env()` of the default configuration with `changes` applied (`undefined` removes a variable): for the tests of a
   * broken environment. Throws when a change names a variable the construct does not set, since such a test would
   * prove nothing about the function as deployed.
   */
  brokenEnv(changes: Readonly<Record<string, string | undefined>>): Record<string, string | undefined>;
}

/** Options of {@link useE2e}. */
export interface E2eOptions<C extends string> {
  /**
   * Named configurations; each builds its construct(s) in its own stack. All are synthesized together once, when the
   * test file loads; each must hold exactly one function running the bundle.
   */
  readonly configs: Readonly<Record<C | 'default', Build>>;
  /** Tuning for every handler of the file (a call's tuning overrides it). */
  readonly tuning?: Tuning;
}

function checkTuning(tuning: Tuning): void {
  const unknown = Object.keys(tuning).filter((k) => !(TUNING_KNOBS as readonly string[]).includes(k));
  if (unknown.length > 0) {
    throw new Error(`not a tuning knob: ${unknown.join(', ')}; set it through the construct's props (knobs: ${TUNING_KNOBS.join(', ')})`);
  }
}

/**
 * For the bundle `assets/<name>/index.js` (throws now when it was not built): synthesizes the configurations and
 * registers, in the calling test file, hooks that start an {@link SsmStub} before all tests, reset it before each,
 * close what `closeAfterTest` holds after each, and stop the stub and the file's handler processes after all.
 */
export function useE2e<C extends string = 'default'>(name: string, options: E2eOptions<C>): E2e<C | 'default'> {
  const bundle = path.resolve(__dirname, '..', '..', 'assets', name, 'index.js');
  if (!existsSync(bundle)) {
    throw new Error(`${bundle} not found: run npm run bundle (npm test bundles first)`);
  }
  const fileTuning = options.tuning ?? {};
  checkTuning(fileTuning);
  const constructEnvs = synthesizedConfigurations(name, options.configs);
  const stub = new SsmStub();
  const closeAfterTest = new Set<{ close(): Promise<void> }>();
  const pool = new HandlerPool();

  beforeAll(async () => {
    await stub.start();
  });
  afterAll(async () => {
    await pool.close();
    await stub.stop();
  });
  beforeEach(() => {
    stub.reset();
  });
  afterEach(async () => {
    await Promise.all([...closeAfterTest].map((p) => p.close()));
    closeAfterTest.clear();
  });

  const constructEnv = (config: C | 'default' = 'default'): FunctionEnv => {
    const env = constructEnvs.get(config);
    if (env === undefined) throw new Error(`no configuration '${config}'`);
    return env;
  };
  const env = (config: C | 'default' = 'default', tuning: Tuning = {}) => {
    checkTuning(tuning);
    return { ...STUB_AWS_ENV, ...constructEnv(config), AWS_ENDPOINT_URL_SSM: stub.url, ...fileTuning, ...tuning };
  };
  return {
    bundle,
    stub,
    closeAfterTest,
    constructEnv,
    env,
    startHandler: async (config = 'default', tuning = {}, shared = false) => {
      const proc = await pool.start(bundle, env(config, tuning));
      if (!shared) closeAfterTest.add(proc);
      return proc;
    },
    startProcess: (processEnv, options) => pool.start(bundle, processEnv, options),
    brokenEnv: (changes) => {
      const missing = Object.keys(changes).filter((k) => !(k in constructEnv()));
      if (missing.length > 0) throw new Error(`the construct does not set ${missing.join(', ')}: breaking it proves nothing`);
      return { ...env(), ...changes };
    },
  };
}

/** The construct environment of each configuration, from one synthesis of them all. */
function synthesizedConfigurations<C extends string>(name: string, configs: Readonly<Record<C, Build>>): Map<C, FunctionEnv> {
  const entries = Object.entries(configs) as [C, Build][];
  const envs = synthesizedEnvironments(name, entries.map(([, build]) => build));
  return new Map(entries.map(([config], i) => {
    if (envs[i].length !== 1) throw new Error(`configuration '${config}': expected one function running assets/${name}, found ${envs[i].length}`);
    return [config, envs[i][0]];
  }));
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
