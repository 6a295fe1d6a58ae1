/**
 * Environment variable helpers for handler cold starts. Each one throws an `Error` whose message names the
 * variable, so a misconfigured function fails its first invocation with a clear message instead of answering
 * the 100th request wrongly. None of them defaults a required variable to `''`.
 */

/** The environment to read; defaults to `process.env` in every helper. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Range and default for {@link intEnv}. */
export interface IntEnvOptions {
  readonly min: number;
  readonly max: number;
  /** Used when the variable is unset or empty; without it the variable is required. */
  readonly defaultValue?: number;
}

function envError(name: string, problem: string): Error {
  return new Error(`Environment variable ${name} ${problem}`);
}

/** The variable's value, or `undefined` when it is unset or empty. */
export function optionalEnv(name: string, env: Env = process.env): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

/** The variable's value; throws naming the variable when it is unset or empty. */
export function requireEnv(name: string, env: Env = process.env): string {
  const value = optionalEnv(name, env);
  if (value === undefined) throw envError(name, 'is required but not set');
  return value;
}

/** A decimal integer in `[min, max]`; throws naming the variable when it is missing (and has no default) or invalid. */
export function intEnv(name: string, options: IntEnvOptions, env: Env = process.env): number {
  const raw = optionalEnv(name, env);
  if (raw === undefined) {
    if (options.defaultValue !== undefined) return options.defaultValue;
    throw envError(name, 'is required but not set');
  }
  const value = /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isSafeInteger(value) || value < options.min || value > options.max) {
    throw envError(name, `must be an integer from ${options.min} to ${options.max} (got ${JSON.stringify(raw)})`);
  }
  return value;
}

/** `true` or `false` (case-insensitive); throws naming the variable when it is missing (and has no default) or invalid. */
export function boolEnv(name: string, defaultValue?: boolean, env: Env = process.env): boolean {
  const raw = optionalEnv(name, env);
  if (raw === undefined) {
    if (defaultValue !== undefined) return defaultValue;
    throw envError(name, 'is required but not set');
  }
  const normalized = raw.trim().toLowerCase();
  if (normalized === 'true') return true;
  if (normalized === 'false') return false;
  throw envError(name, `must be "true" or "false" (got ${JSON.stringify(raw)})`);
}

/** One of `allowed` (exact match); throws naming the variable when it is missing (and has no default) or invalid. */
export function enumEnv<T extends string>(
  name: string,
  allowed: readonly T[],
  defaultValue?: T,
  env: Env = process.env,
): T {
  const raw = optionalEnv(name, env);
  if (raw === undefined) {
    if (defaultValue !== undefined) return defaultValue;
    throw envError(name, 'is required but not set');
  }
  const match = allowed.find((candidate) => candidate === raw);
  if (match === undefined) {
    throw envError(name, `must be one of ${allowed.join(', ')} (got ${JSON.stringify(raw)})`);
  }
  return match;
}

/**
 * A required JSON variable, parsed and then checked by `validate` (which should throw on a bad shape).
 * Syntax errors and validation errors are both rethrown with the variable's name.
 */
export function jsonEnv<T>(name: string, validate: (value: unknown) => T, env: Env = process.env): T {
  const raw = requireEnv(name, env);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw envError(name, 'is not valid JSON');
  }
  try {
    return validate(parsed);
  } catch (err) {
    throw envError(name, `is invalid: ${err instanceof Error ? err.message : String(err)}`);
  }
}
