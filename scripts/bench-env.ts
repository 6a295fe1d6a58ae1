/**
 * The environments the benchmarks start handlers with, taken from the synthesized constructs as the e2e tests take
 * them (test/support/construct-env.ts): a variable renamed on either side breaks the bench as it breaks the tests.
 * What a bench wants different is said explicitly: as construct props where the construct has one (e.g. no node
 * lookup before CreateActivation), else as one of the named {@link BENCH_TUNING_KNOBS}.
 */
import type { Stack } from 'aws-cdk-lib';
import { FAKE_REGION, synthesizedEnvironments } from '../test/support/construct-env';

/** What the Lambda runtime gives every function besides the construct's variables: a Region and credentials. */
export const LAMBDA_RUNTIME_ENV: Readonly<Record<string, string>> = {
  AWS_REGION: FAKE_REGION,
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
};

/** The handler variables a bench may set on top of the construct's environment (no construct prop sets them). */
export const BENCH_TUNING_KNOBS = ['LOG_LEVEL'] as const;

/** Values for some of the {@link BENCH_TUNING_KNOBS}. */
export type BenchTuning = Partial<Record<(typeof BENCH_TUNING_KNOBS)[number], string>>;

/**
 * The environment of the one function running the bundle `assets/<handlerName>` that `build` creates (in an empty
 * stack of a `testApp()`), tokens resolved to fake values: the Lambda runtime's variables, the construct's, `tuning`.
 * Throws when `build` creates no such function or several, or when `tuning` names another variable.
 */
export function benchHandlerEnv(handlerName: string, build: (stack: Stack) => void, tuning: BenchTuning = {}): Record<string, string> {
  const unknown = Object.keys(tuning).filter((k) => !(BENCH_TUNING_KNOBS as readonly string[]).includes(k));
  if (unknown.length > 0) {
    throw new Error(`not a bench tuning knob: ${unknown.join(', ')}; set it through the construct's props (knobs: ${BENCH_TUNING_KNOBS.join(', ')})`);
  }
  const [functions] = synthesizedEnvironments(handlerName, [build]);
  if (functions.length !== 1) throw new Error(`expected one function running assets/${handlerName}, found ${functions.length}`);
  return { ...LAMBDA_RUNTIME_ENV, ...functions[0], ...tuning };
}
