/**
 * Risk-dashboard benchmark, section (g) of `npm run bench`; alone: `npm run bench -- compliance-dashboard`.
 *
 * The BUNDLED compliance-metrics function (assets/compliance-metrics/index.js) runs in a child process
 * (test/support/handler-process.ts, a 10-minute timeout counting down) against the loopback SSM stub seeded with the
 * example fleet of test/support/compliance-fleet.ts: BENCH_COMPLIANCE_NODES nodes (default 1,000; 90 % hybrid, five
 * patch groups, report and enforce, Patch, Association and the agent's custom type). Figures:
 *   - SSM requests per run by operation, as the stub received them (the SDK's retries included), per 1,000 nodes;
 *   - duration of a run (the cold start before it excluded), median of BENCH_COMPLIANCE_RUNS (default 3), per 1,000 nodes;
 *   - one run against the stub throttled to BENCH_COMPLIANCE_TPS requests per second per operation (default 20):
 *     its duration and the throttled requests (SSM's real rates for these actions are not published per action);
 *   - the distinct metrics one run publishes for the example fleet (what CloudWatch bills per month) and the README
 *     formula's upper bound for the same configuration.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ComplianceDashboard } from '../lib';
import { lambdaContext } from '../test/support/api-gateway-event';
import { AGENT_TYPE, seedExampleFleet } from '../test/support/compliance-fleet';
import { startHandlerProcess } from '../test/support/handler-process';
import { SsmStub } from '../test/support/ssm-stub';
import { benchHandlerEnv } from './bench-env';
import { intFromEnv } from './bench-timing';

const BUNDLE = path.join(__dirname, '..', 'assets', 'compliance-metrics', 'index.js');
const OPERATIONS = ['DescribeInstanceInformation', 'ListResourceComplianceSummaries', 'ListTagsForResource'] as const;

interface Outcome {
  complete: boolean;
  nodes: number;
  metricCount: number;
}

/** The README's upper bound on distinct metrics a run publishes (see "Risk dashboard", metric count). */
export function metricCountBound(groups: number, maxPatchGroups: number, modeValues: number, complianceTypes: number, agentTypes: number): number {
  const g = Math.min(groups, maxPatchGroups) + (groups > maxPatchGroups ? 1 : 0);
  const m = modeValues + 1;
  const pairs = (g + 1) * (m + 1) + 1;
  const types = Math.min(complianceTypes, 10) + (complianceTypes > 10 ? 1 : 0);
  return 7 * pairs + 7 * (m + 2) + 7 + 5 + 6 + 3 * agentTypes + 6 * types * pairs;
}

/**
 * The function's environment as ComplianceDashboard sets it with its defaults and the example fleet's agent type
 * (synthesized, scripts/bench-env.ts); `LOG_LEVEL` SILENT, so the bench does not time writing metric lines.
 */
const dashboardEnv = (): Record<string, string> =>
  benchHandlerEnv('compliance-metrics', (stack) => new ComplianceDashboard(stack, 'Dashboard', { agentComplianceTypes: [AGENT_TYPE] }), { LOG_LEVEL: 'SILENT' });

/** Runs the bundle once in a fresh process with `env`; resolves to the outcome and the warm run's duration. */
async function runOnce(stub: SsmStub, functionEnv: Readonly<Record<string, string>>): Promise<{ outcome: Outcome; ms: number }> {
  const env = { ...functionEnv, AWS_ENDPOINT_URL_SSM: stub.url };
  const proc = await startHandlerProcess<Outcome>(BUNDLE, env, { timeoutMs: 10 * 60_000 });
  try {
    const started = performance.now();
    const outcome = await proc.invoke({ source: 'aws.events' }, lambdaContext(randomUUID(), { functionName: 'bench-compliance-metrics' }));
    return { outcome, ms: performance.now() - started };
  } finally {
    await proc.close();
  }
}

export interface ComplianceBenchFigures {
  readonly callsPerThousand: number;
  readonly msPerThousand: number;
  readonly metricCount: number;
}

export async function benchComplianceDashboard(out: (line?: string) => void): Promise<ComplianceBenchFigures | undefined> {
  const nodes = intFromEnv('BENCH_COMPLIANCE_NODES', 1000);
  const runs = intFromEnv('BENCH_COMPLIANCE_RUNS', 3);
  const tps = intFromEnv('BENCH_COMPLIANCE_TPS', 20);
  out();
  out(`(g) risk dashboard: the bundled compliance-metrics function against the SSM stub, example fleet of ${nodes} nodes`);
  if (!existsSync(BUNDLE)) {
    out(`    skipped: ${BUNDLE} not found (npm run bundle)`);
    return undefined;
  }
  const stub = new SsmStub();
  await stub.start();
  try {
    const env = dashboardEnv();
    seedExampleFleet(stub, nodes);
    const durations: number[] = [];
    let outcome: Outcome | undefined;
    let calls: Record<string, number> = {};
    for (let i = 0; i < runs; i++) {
      stub.requests.length = 0;
      const run = await runOnce(stub, env);
      if (!run.outcome.complete) throw new Error('a run did not read the whole fleet');
      durations.push(run.ms);
      outcome = run.outcome;
      calls = Object.fromEntries(OPERATIONS.map((op) => [op, stub.requestsFor(op).length]));
    }
    durations.sort((a, b) => a - b);
    const median = durations[Math.floor(durations.length / 2)];
    const total = Object.values(calls).reduce((a, b) => a + b, 0);
    const per = 1000 / nodes;
    out(`    SSM requests per run: ${OPERATIONS.map((op) => `${op} ${calls[op]}`).join(', ')}; total ${total} = ${(total * per).toFixed(0)} per 1,000 nodes`);
    out(`    one run after a cold start (no throttling): median ${median.toFixed(0)} ms of ${runs} (min ${durations[0].toFixed(0)}, max ${durations[durations.length - 1].toFixed(0)}) = ${(median * per).toFixed(0)} ms per 1,000 nodes`);

    stub.requests.length = 0;
    stub.rateLimit({ tps });
    const throttled = await runOnce(stub, env);
    stub.rateLimit(undefined);
    const limited = stub.requests.filter((r) => r.rateLimited).length;
    out(`    stub throttled to ${tps} requests/s per operation: ${(throttled.ms / 1000).toFixed(1)} s, ${stub.requests.length} requests of which ${limited} throttled; complete: ${throttled.outcome.complete}`);

    const bound = metricCountBound(5, Number(env.MAX_PATCH_GROUPS), 2, 3, 1);
    out(`    metrics published for the example fleet: ${outcome!.metricCount} distinct (README formula's bound for 5 groups, 2 modes, 3 types, 1 agent: ${bound})`);
    return { callsPerThousand: total * per, msPerThousand: median * per, metricCount: outcome!.metricCount };
  } catch (err) {
    out(`    failed: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  } finally {
    await stub.stop();
  }
}
