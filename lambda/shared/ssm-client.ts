/**
 * SSM client configuration shared by the handler adapters: adaptive retries with `SSM_MAX_ATTEMPTS` attempts and a
 * per-attempt socket timeout of `SSM_REQUEST_TIMEOUT_MS` (docs/handler-contract.md). Type-only SDK import, so a
 * handler bundles just the client and commands it uses.
 */
import type { SSMClientConfig } from '@aws-sdk/client-ssm';
import { intEnv, type Env } from './env';

/** Defaults for {@link ssmClientConfig}. */
export interface SsmClientDefaults {
  /** Default `SSM_MAX_ATTEMPTS` (SDK attempts including the first). */
  readonly maxAttempts: number;
  /** Default `SSM_REQUEST_TIMEOUT_MS`. */
  readonly requestTimeoutMs: number;
}

/** Reads `SSM_MAX_ATTEMPTS` (1–10) and `SSM_REQUEST_TIMEOUT_MS` (100–60000) once; throws naming a bad variable. */
export function ssmClientConfig(
  defaults: SsmClientDefaults = { maxAttempts: 4, requestTimeoutMs: 3000 },
  env: Env = process.env,
): SSMClientConfig {
  return {
    retryMode: 'adaptive',
    maxAttempts: intEnv('SSM_MAX_ATTEMPTS', { min: 1, max: 10, defaultValue: defaults.maxAttempts }, env),
    requestHandler: {
      requestTimeout: intEnv('SSM_REQUEST_TIMEOUT_MS', { min: 100, max: 60_000, defaultValue: defaults.requestTimeoutMs }, env),
      connectionTimeout: 1000,
      // Without this the SDK only warns when an attempt exceeds requestTimeout; we want the attempt to fail and retry.
      throwOnRequestTimeout: true,
    },
  };
}
