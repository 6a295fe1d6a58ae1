/**
 * Boot-storm benchmark, section (f) of `npm run bench`; alone: `npm run bench -- boot-storm` (or BENCH_ONLY=boot-storm).
 *
 * A fleet boots in one wave: BENCH_STORM_MACHINES (default 200) machines run the REAL Linux boot script
 * (boot/linux/register-node.sh, api-key auth, `--name storm-NNNN --tag PatchMode=report`) as concurrent bash
 * processes, with a fake `amazon-ssm-agent` (scripts/boot-storm/) that registers by calling RegisterManagedInstance
 * on the loopback SSM stub, which then holds a managed node `mi-…` with the activation's tags.
 *   - API front: a loopback HTTP server that plays the API Gateway stage: checks the API key (403), enforces the stage
 *     throttle as a token bucket (BENCH_STORM_API_RPS default 10, BENCH_STORM_API_BURST default 20, the construct's
 *     defaults; 429 `Too Many Requests` without Retry-After, as API Gateway answers) and invokes the BUNDLED
 *     create-activation handler (assets/) with an API Gateway proxy event. Lambda: a pool of handler processes
 *     (test/support/handler-process.ts), BENCH_STORM_LAMBDAS (default 25) started before the clock starts, one request at
 *     a time each (beyond them requests wait for a free one); 25 s function timeout, 29 s integration timeout (504).
 *   - SSM: the loopback stub throttled to BENCH_STORM_SSM_TPS (default 5) requests per second per operation, burst one
 *     second's worth (ThrottlingException beyond it); the agents' RegisterManagedInstance is not throttled.
 *   - The handler runs with the construct's defaults for API-key mode plus `maxRegisteredNodes` 1000
 *     (BENCH_STORM_MAX_NODES; 0 = no ceiling), so the node-ceiling check is part of the storm.
 * The script's own retry knobs are set from here only: ACTIVATION_RETRY_BASE_SECONDS (BENCH_STORM_RETRY_BASE,
 * default 0.5), ACTIVATION_MAX_ATTEMPTS (BENCH_STORM_MAX_ATTEMPTS, default 12), ACTIVATION_RETRY_MAX_SECONDS (the
 * overall timeout). Everything is bounded: BENCH_STORM_CONCURRENCY machines at a time (default 50: one run of the
 * script forks some 50 processes, and 200 at once thrash a 2-core box), launched by one `xargs -P`, and a hard
 * overall timeout (BENCH_STORM_TIMEOUT_S, default 150 s) that kills every machine still running. Loopback only.
 * It also prints the CPU the storm used and the load average: when the box cannot run the scripts as fast as the
 * throttles allow (the front then never answers 429), the time ratio measures the box, not the API.
 *
 * Figures, all computed from what the front and the stub counted:
 *   time until every machine is registered ÷ (machines ÷ min(API rps, SSM TPS))       target ≤ 1.3
 *   share of machines registered                                                    target 100 %
 *   activations created (successful CreateActivation calls) for the registered machines, per registered machine
 *   (those left by machines still running at the timeout are shown apart)            target ≤ 1.05
 *   SSM calls per registration (every call the handler made, throttled ones included; the agents' excluded)
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { ActivationApiAuthorization, HybridActivationApi, type HybridActivationApiProps } from '../lib';
import { lambdaContext, restApiEvent } from '../test/support/api-gateway-event';
import { type HandlerProcess, jsonLines, startHandlerProcess } from '../test/support/handler-process';
import { SsmStub } from '../test/support/ssm-stub';
import { benchHandlerEnv } from './bench-env';

const ROOT = path.resolve(__dirname, '..');
const BUNDLE = path.join(ROOT, 'assets', 'create-activation', 'index.js');
const SCRIPT = path.join(ROOT, 'boot', 'linux', 'register-node.sh');
const FAKES = path.join(__dirname, 'boot-storm');

const STAGE = 'v1';
const API_KEY = `storm-${randomUUID()}`;
const API_KEY_ID = 'stormkeyid';
const FUNCTION_TIMEOUT_MS = 25_000;
const INTEGRATION_TIMEOUT_MS = 29_000;

export const STORM_TARGETS = { ratio: 1.3, share: 1, activationsPerMachine: 1.05 };

function numFromEnv(name: string, fallback: number, min = 0): number {
  const raw = process.env[name];
  const n = Number(raw);
  return raw !== undefined && raw !== '' && Number.isFinite(n) && n >= min ? n : fallback;
}

/** The storm's settings (environment knobs, see the file comment). */
export interface StormConfig {
  readonly machines: number;
  readonly concurrency: number;
  readonly apiRps: number;
  readonly apiBurst: number;
  readonly ssmTps: number;
  readonly lambdas: number;
  readonly maxNodes: number;
  readonly retryBase: number;
  readonly maxAttempts: number;
  readonly timeoutSeconds: number;
}

export function stormConfig(): StormConfig {
  const machines = Math.floor(numFromEnv('BENCH_STORM_MACHINES', 200, 1));
  return {
    machines,
    concurrency: Math.floor(numFromEnv('BENCH_STORM_CONCURRENCY', 50, 1)),
    apiRps: numFromEnv('BENCH_STORM_API_RPS', 10, 0.1),
    apiBurst: Math.floor(numFromEnv('BENCH_STORM_API_BURST', 20, 1)),
    ssmTps: numFromEnv('BENCH_STORM_SSM_TPS', 5, 0.1),
    lambdas: Math.floor(numFromEnv('BENCH_STORM_LAMBDAS', 25, 1)),
    maxNodes: Math.floor(numFromEnv('BENCH_STORM_MAX_NODES', 1000, 0)),
    retryBase: numFromEnv('BENCH_STORM_RETRY_BASE', 0.5, 0),
    maxAttempts: Math.floor(numFromEnv('BENCH_STORM_MAX_ATTEMPTS', 12, 1)),
    timeoutSeconds: numFromEnv('BENCH_STORM_TIMEOUT_S', 150, 5),
  };
}

/**
 * The handler's environment: what HybridActivationApi sets in API-key mode with its defaults (synthesized,
 * scripts/bench-env.ts), the storm's ceiling (`BENCH_STORM_MAX_NODES`; 0 = none) and the stub's endpoint. `LOG_LEVEL`
 * INFO: the storm reads the request log lines.
 */
function handlerEnv(config: StormConfig, ssmUrl: string): Record<string, string> {
  const props: HybridActivationApiProps = {
    markerTagValue: 'BootStorm/Activations',
    defaultTags: { PatchGroup: 'linux-web' },
    allowedTags: [{ key: 'PatchMode', values: ['report', 'enforce'] }],
    authorization: ActivationApiAuthorization.API_KEY,
    maxRegisteredNodes: config.maxNodes > 0 ? config.maxNodes : undefined,
  };
  const env = benchHandlerEnv('create-activation', (stack) => new HybridActivationApi(stack, 'Activations', props), { LOG_LEVEL: 'INFO' });
  return { ...env, AWS_ENDPOINT_URL_SSM: ssmUrl };
}

/** API Gateway's throttle: a token bucket of `burst` tokens refilled at `rate` per second, full at the start. */
class TokenBucket {
  private tokens: number;
  private at = performance.now();

  constructor(private readonly rate: number, private readonly burst: number) {
    this.tokens = burst;
  }

  public take(): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.rate);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** Lambda execution environments, all started up front: one request at a time each; others wait for a free one. */
class LambdaPool {
  private readonly all: HandlerProcess[] = [];
  private readonly idle: HandlerProcess[] = [];
  private readonly waiters: Array<{ resolve: (p: HandlerProcess) => void; reject: (e: Error) => void }> = [];
  private closed = false;
  /** Per invocation: ms waited for a free environment, ms in the handler. */
  public readonly waits: number[] = [];
  public readonly durations: number[] = [];

  constructor(private readonly env: Record<string, string>) {}

  /** Starts `n` environments, a few at a time. */
  public async warm(n: number): Promise<void> {
    while (this.all.length < n) {
      const batch = Math.min(5, n - this.all.length);
      const started = await Promise.all(Array.from({ length: batch }, () =>
        startHandlerProcess(BUNDLE, this.env, { timeoutMs: FUNCTION_TIMEOUT_MS })));
      this.all.push(...started);
      this.idle.push(...started);
    }
  }

  /** A free environment; undefined when none came free within `timeoutMs` (the request left the queue); rejects once closed. */
  public async acquire(timeoutMs: number): Promise<HandlerProcess | undefined> {
    if (this.closed) throw new Error('pool closed');
    const free = this.idle.pop();
    if (free) return free;
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (p: HandlerProcess) => {
          clearTimeout(timer);
          resolve(p);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        resolve(undefined);
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  public release(p: HandlerProcess): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(p);
    else this.idle.push(p);
  }

  public output(): string {
    return this.all.map((p) => p.output()).join('\n');
  }

  public size(): number {
    return this.all.length;
  }

  public async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.reject(new Error('pool closed'));
    await Promise.all(this.all.map((p) => p.close()));
  }
}

interface FrontStats {
  requests: number;
  throttled: number;
  forbidden: number;
  /** Handler (or integration) answers by status. */
  statuses: Map<number, number>;
}

/** The API Gateway stage on 127.0.0.1: API key, throttle, Lambda proxy integration. Resolves to its base URL. */
async function startFront(config: StormConfig, pool: LambdaPool, stats: FrontStats): Promise<{ url: string; server: http.Server }> {
  const bucket = new TokenBucket(config.apiRps, config.apiBurst);
  const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
    res.end(text);
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      stats.requests += 1;
      if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== `/${STAGE}/activations`) {
        return json(res, 403, { message: 'Missing Authentication Token' });
      }
      if (req.headers['x-api-key'] !== API_KEY) {
        stats.forbidden += 1;
        return json(res, 403, { message: 'Forbidden' });
      }
      if (!bucket.take()) {
        stats.throttled += 1;
        return json(res, 429, { message: 'Too Many Requests' }, { 'x-amzn-ErrorType': 'TooManyRequestsException' });
      }
      const event = restApiEvent({
        method: 'POST',
        resource: '/activations',
        stage: STAGE,
        body: Buffer.concat(chunks).toString('utf8'),
        headers: {
          'Content-Type': String(req.headers['content-type'] ?? ''),
          'User-Agent': String(req.headers['user-agent'] ?? ''),
          'x-api-key': API_KEY,
        },
        apiKeyId: API_KEY_ID,
        sourceIp: '127.0.0.1',
      });
      void invoke(pool, event).then((result) => {
        stats.statuses.set(result.statusCode, (stats.statuses.get(result.statusCode) ?? 0) + 1);
        if (res.destroyed) return;
        const headers = Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k, String(v)]));
        res.writeHead(result.statusCode, { 'Content-Type': 'application/json', ...headers });
        res.end(result.body);
      });
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', 1024, resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/${STAGE}/`, server };
}

const TIMED_OUT: APIGatewayProxyResult = { statusCode: 504, body: JSON.stringify({ message: 'Endpoint request timed out' }) };
const FAILED: APIGatewayProxyResult = { statusCode: 502, body: JSON.stringify({ message: 'Internal server error' }) };

/**
 * Lambda proxy integration: 502 when the function fails, 504 once the integration timeout has passed, counted from
 * when the request arrived (time spent waiting for a free environment included; a request still waiting then is
 * dropped without running the handler).
 */
async function invoke(pool: LambdaPool, event: ReturnType<typeof restApiEvent>): Promise<APIGatewayProxyResult> {
  const queued = performance.now();
  let lambda: HandlerProcess | undefined;
  try {
    lambda = await pool.acquire(INTEGRATION_TIMEOUT_MS);
  } catch {
    return FAILED;
  }
  const began = performance.now();
  pool.waits.push(began - queued);
  if (lambda === undefined) return TIMED_OUT;
  const held = lambda;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), Math.max(0, INTEGRATION_TIMEOUT_MS - (began - queued)));
  });
  const call = held.invoke(event, lambdaContext(randomUUID(), { functionName: 'BootStorm-CreateActivation' }));
  try {
    const result = await Promise.race([call, timedOut]);
    if (result === 'timeout') {
      // The environment is still busy with the request: it goes back to the pool only when that ends.
      void call.catch(() => undefined).finally(() => pool.release(held));
      return TIMED_OUT;
    }
    pool.release(held);
    return result;
  } catch {
    pool.release(held);
    return FAILED;
  } finally {
    clearTimeout(timer);
    pool.durations.push(performance.now() - began);
  }
}

interface MachineRun {
  readonly name: string;
  /** Exit status; null when the machine was killed at the overall timeout (or never started). */
  code: number | null;
  stderr: string;
  /** When it ended (ms since the epoch), from its status file. */
  endedAt?: number;
}

/**
 * One machine, run by `xargs -P` with its name as `$1`: the boot script with its own registration file; stderr and
 * the exit status land in `$BOOT_STORM_DIR/<name>.err` and `.rc`.
 */
const MACHINE_SH = 'SSM_REGISTRATION_FILE="$BOOT_STORM_DIR/$1.registration" bash "$BOOT_STORM_SCRIPT" --name "$1" --tag PatchMode=report ' +
  '2>"$BOOT_STORM_DIR/$1.err" >/dev/null </dev/null; echo $? >"$BOOT_STORM_DIR/$1.rc"';

/**
 * Runs every machine, at most `concurrency` at a time, from one `xargs -P` launcher in its own process group (so the
 * forks of 200 machines do not stall this process's event loop, which serves the front and the stub); kills that
 * group (the launcher and every machine still running) at `deadline`.
 */
async function runMachines(config: StormConfig, apiUrl: string, ssmUrl: string, tmp: string, deadline: number): Promise<MachineRun[]> {
  const runs: MachineRun[] = Array.from({ length: config.machines }, (_, i) => ({ name: `storm-${String(i + 1).padStart(4, '0')}`, code: null, stderr: '' }));
  const env = {
    PATH: `${FAKES}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: tmp,
    TMPDIR: tmp,
    LANG: 'C',
    ACTIVATION_API_URL: apiUrl,
    ACTIVATION_AUTH: 'api-key',
    ACTIVATION_API_KEY: API_KEY,
    ACTIVATION_RETRY_BASE_SECONDS: String(config.retryBase),
    ACTIVATION_MAX_ATTEMPTS: String(config.maxAttempts),
    ACTIVATION_RETRY_MAX_SECONDS: String(Math.ceil(config.timeoutSeconds)),
    BOOT_STORM_SSM_URL: ssmUrl,
    BOOT_STORM_SCRIPT: SCRIPT,
    BOOT_STORM_DIR: tmp,
  };
  const launcher = spawn('xargs', ['-P', String(config.concurrency), '-n', '1', 'sh', '-c', MACHINE_SH, 'machine'], {
    env,
    stdio: ['pipe', 'ignore', 'inherit'],
    detached: true,
  });
  const ended = new Promise<void>((resolve) => {
    launcher.on('close', () => resolve());
    launcher.on('error', () => resolve());
  });
  launcher.stdin!.end(runs.map((r) => r.name).join('\n') + '\n');
  const killer = setTimeout(() => {
    try {
      process.kill(-launcher.pid!, 'SIGKILL'); // the launcher's own process group: xargs, sh, bash, curl, sleep
    } catch {
      // already gone
    }
  }, Math.max(0, deadline - Date.now()));
  await ended;
  clearTimeout(killer);
  for (const run of runs) {
    const rc = path.join(tmp, `${run.name}.rc`);
    if (existsSync(rc)) {
      run.code = Number(readFileSync(rc, 'utf8').trim());
      run.endedAt = statSync(rc).mtimeMs;
    }
    const err = path.join(tmp, `${run.name}.err`);
    if (existsSync(err)) run.stderr = readFileSync(err, 'utf8');
  }
  return runs;
}

/**
 * CPU seconds used by this process and its reaped children (machines with their curl/awk/sed, handler processes),
 * from /proc/self/stat (Linux; clock ticks of 1/100 s); undefined elsewhere.
 */
function cpuSeconds(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] is field 3 (state)
    return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0) / 100;
  } catch {
    return undefined;
  }
}

const fmt = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`);

const percentile = (values: number[], p: number): number => {
  const s = [...values].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

/** What the storm measured (for the bench summary). */
export interface StormFigures {
  readonly ratio: number;
  readonly share: number;
  readonly activationsPerMachine: number;
  readonly ssmCallsPerRegistration: number;
}

/** Runs the storm and prints its section; resolves to the figures, or undefined when it could not run. */
export async function benchBootStorm(out: (line?: string) => void, config: StormConfig = stormConfig()): Promise<StormFigures | undefined> {
  const minRate = Math.min(config.apiRps, config.ssmTps);
  const minimumS = config.machines / minRate;
  out();
  out(`(f) boot storm: ${config.machines} machines run boot/linux/register-node.sh (api-key auth, fake agent), ` +
    `${config.concurrency >= config.machines ? 'all at once' : `${config.concurrency} at a time`}, against the bundled create-activation handler`);
  out(`    API stage throttle ${config.apiRps} rps burst ${config.apiBurst}; SSM stub ${config.ssmTps} TPS per operation; ` +
    `maxRegisteredNodes ${config.maxNodes}; ≤ ${config.lambdas} Lambda environments`);
  out(`    script knobs: ACTIVATION_RETRY_BASE_SECONDS=${config.retryBase} ACTIVATION_MAX_ATTEMPTS=${config.maxAttempts} ` +
    `ACTIVATION_RETRY_MAX_SECONDS=${Math.ceil(config.timeoutSeconds)}; hard timeout ${config.timeoutSeconds} s`);
  if (!existsSync(BUNDLE)) {
    out(`    (f) skipped: ${path.relative(ROOT, BUNDLE)} not found (npm run bundle)`);
    return undefined;
  }
  for (const tool of ['bash', 'curl', 'xargs']) {
    if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0) {
      out(`    (f) skipped: ${tool} is not installed`);
      return undefined;
    }
  }

  const stub = new SsmStub({ rateLimit: { tps: config.ssmTps, exempt: ['RegisterManagedInstance'] } });
  const ssmUrl = await stub.start();
  const pool = new LambdaPool(handlerEnv(config, ssmUrl));
  const stats: FrontStats = { requests: 0, throttled: 0, forbidden: 0, statuses: new Map() };
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-storm-'));
  let front: http.Server | undefined;
  let cpuAtStart: number | undefined;
  let storm: { t0: number; end: number; load0: number } | undefined;
  try {
    // Every environment is started before the clock starts: on a 2-core box, cold starts of node processes would
    // steal the CPU the machines need (real Lambda cold starts run elsewhere).
    await pool.warm(config.lambdas);
    const started = await startFront(config, pool, stats);
    front = started.server;
    cpuAtStart = cpuSeconds();
    const load0 = os.loadavg()[0];
    const lag = monitorEventLoopDelay({ resolution: 20 });
    lag.enable();
    const t0 = Date.now();
    const runs = await runMachines(config, started.url, ssmUrl, tmp, t0 + config.timeoutSeconds * 1000);
    const wallS = (Date.now() - t0) / 1000;
    storm = { t0, end: Date.now(), load0 };
    lag.disable();

    // ---- figures, from what the stub and the front counted ----
    const nodes = [...stub.state.nodes.values()].filter((n) => n.Name?.startsWith('storm-'));
    const registeredNames = new Set(nodes.map((n) => n.Name!));
    const registered = registeredNames.size;
    const share = registered / config.machines;
    const lastRegistration = nodes.reduce((m, n) => Math.max(m, n.RegistrationDate.getTime()), t0);
    const allS = (lastRegistration - t0) / 1000;
    const ratio = allS / minimumS;
    const handlerCalls = stub.requests.filter((r) => r.operation !== 'RegisterManagedInstance');
    const byOp = new Map<string, { calls: number; throttled: number }>();
    for (const r of handlerCalls) {
      const e = byOp.get(r.operation) ?? { calls: 0, throttled: 0 };
      e.calls += 1;
      if (r.errorType === 'ThrottlingException') e.throttled += 1;
      byOp.set(r.operation, e);
    }
    // Activations SSM issued, split by whether their machine registered (a machine killed at the timeout leaves one).
    const issuedFor = handlerCalls.filter((r) => r.operation === 'CreateActivation' && r.status === 200).map((r) => String(r.body?.DefaultInstanceName));
    const created = issuedFor.length;
    const createdForRegistered = issuedFor.filter((n) => registeredNames.has(n)).length;
    const activationsPerMachine = registered ? createdForRegistered / registered : NaN;
    const ssmPerRegistration = registered ? handlerCalls.length / registered : NaN;
    const exitedOk = runs.filter((r) => r.code === 0).length;
    const attempts = runs.map((r) => 1 + (r.stderr.match(/attempt \d+\/\d+ failed/g) ?? []).length);
    const machineS = runs.filter((r) => r.endedAt !== undefined).map((r) => (r.endedAt! - t0) / 1000);
    const outcomes = new Map<string, number>();
    const handlerMs: number[] = [];
    for (const line of jsonLines(pool.output())) {
      if (line.message !== 'activation request') continue;
      outcomes.set(line.outcome, (outcomes.get(line.outcome) ?? 0) + 1);
      if (typeof line.durationMs === 'number') handlerMs.push(line.durationMs);
    }

    const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
    const row = (label: string, value: string, target = '') => out(`    ${label.padEnd(46)} ${value.padEnd(30)} ${target}`);
    row('time until every machine is registered', registered === config.machines ? `${allS.toFixed(1)} s` : `not all (last at ${allS.toFixed(1)} s)`,
      `minimum ${minimumS.toFixed(1)} s = ${config.machines} ÷ min(${config.apiRps} rps, ${config.ssmTps} TPS)`);
    row('  ÷ theoretical minimum', registered === config.machines ? ratio.toFixed(2) : 'n/a (not all registered)',
      `target ≤ ${STORM_TARGETS.ratio}  ${verdict(registered === config.machines && ratio <= STORM_TARGETS.ratio)}`);
    row('share registered', `${registered}/${config.machines} (${(share * 100).toFixed(1)} %)`, `target 100 %  ${verdict(share >= 1)}`);
    row('activations created per registered machine', `${activationsPerMachine.toFixed(3)} (${createdForRegistered}; ${created - createdForRegistered} more unused)`,
      `target ≤ ${STORM_TARGETS.activationsPerMachine}  ${verdict(activationsPerMachine <= STORM_TARGETS.activationsPerMachine)}`);
    row('SSM calls per registration', `${ssmPerRegistration.toFixed(2)} (${handlerCalls.length} calls)`, 'handler calls incl. throttled ones');
    for (const [op, e] of [...byOp.entries()].sort((a, b) => b[1].calls - a[1].calls)) {
      row(`  ${op}`, `${e.calls} (${e.throttled} throttled)`, `${(e.calls / Math.max(1, registered)).toFixed(2)} per registration`);
    }
    row('API front', `${stats.requests} requests`, `${stats.throttled} answered 429 by the stage throttle, ${stats.forbidden} 403`);
    row('  handler answers', [...stats.statuses.entries()].sort().map(([s, n]) => `${s}×${n}`).join(' ') || 'none',
      [...outcomes.entries()].sort().map(([o, n]) => `${o} ${n}`).join(', '));
    row('machines', `${exitedOk} exited 0 of ${config.machines}`, `script wall: median ${percentile(machineS, 50).toFixed(1)} s, ` +
      `p95 ${percentile(machineS, 95).toFixed(1)} s, max ${Math.max(...machineS).toFixed(1)} s; storm ${wallS.toFixed(1)} s`);
    row('  API attempts per machine', `median ${percentile(attempts, 50)}, p95 ${percentile(attempts, 95)}, max ${Math.max(...attempts)}`,
      `${pool.size()} Lambda environments, started before the storm`);
    row('  Lambda: wait for a free environment', `median ${fmt(percentile(pool.waits, 50))}, p95 ${fmt(percentile(pool.waits, 95))}`,
      `invocation: median ${fmt(percentile(pool.durations, 50))}, p95 ${fmt(percentile(pool.durations, 95))}; ` +
      `as logged by the handler: median ${fmt(percentile(handlerMs, 50))}, p95 ${fmt(percentile(handlerMs, 95))}`);
    row('  event loop delay of the front and stub', `p50 ${fmt(lag.percentile(50) / 1e6)}, p99 ${fmt(lag.percentile(99) / 1e6)}`, `max ${fmt(lag.max / 1e6)}`);
    const apiRate = stats.requests / wallS;
    if (stats.throttled === 0 && (share < 1 || ratio > STORM_TARGETS.ratio)) {
      out(`    note: the stage throttle never answered 429 (the front saw ${apiRate.toFixed(2)} requests/s against ${config.apiRps} allowed): ` +
        'this box could not run the scripts as fast as the throttles admit, so the time figure measures the box, not the API');
    }
    const failed = runs.filter((r) => r.code !== 0);
    for (const r of failed.slice(0, 3)) {
      const last = r.stderr.trim().split('\n').slice(-2).join(' | ');
      out(`    failed: ${r.name} exit ${r.code ?? 'killed'}: ${last.slice(0, 300)}`);
    }
    return { ratio: registered === config.machines ? ratio : Infinity, share, activationsPerMachine, ssmCallsPerRegistration: ssmPerRegistration };
  } finally {
    if (front) {
      front.closeAllConnections();
      await new Promise<void>((resolve) => front!.close(() => resolve()));
    }
    await pool.close();
    await stub.stop();
    rmSync(tmp, { recursive: true, force: true });
    const cpuAtEnd = cpuSeconds();
    if (storm && cpuAtStart !== undefined && cpuAtEnd !== undefined) {
      // On a small box the simulation itself (bash forks, curl, node processes) can be the bottleneck, not the throttles.
      const cpu = cpuAtEnd - cpuAtStart;
      const cores = os.cpus().length;
      out(`    CPU used by the storm (machines, handlers, front, stub): ${cpu.toFixed(1)} s = ${(cpu / cores).toFixed(1)} s of all ${cores} cores ` +
        `(vs the ${minimumS.toFixed(1)} s minimum); load average ${storm.load0.toFixed(1)} at the start, ${os.loadavg()[0].toFixed(1)} at the end`);
    }
  }
}

if (require.main === module) {
  benchBootStorm((line = '') => process.stdout.write(line + '\n'))
    .catch((err) => process.stdout.write(`boot storm failed: ${err instanceof Error ? err.stack : String(err)}\n`))
    .finally(() => {
      process.exitCode = 0;
    });
}
