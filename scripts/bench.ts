/**
 * Benchmark: `npm run bench` (= `npm run bundle && node -r ./scripts/ts-register.js scripts/bench.ts`).
 *
 * Every ratio is measured side by side in ONE run, A and B interleaved (A B B A ...), so machine noise hits both.
 *   (a) synth of bin/example.ts ÷ synth of an empty App + Stack (whole `node -r ./scripts/ts-register.js <app>`
 *       processes, the way cdk.json's app runs, so lib/*.ts is transpiled rather than the .js jsii compiles next
 *       to it; same context)                                                                      target ≤ 1.5
 *   (b) size of assets/create-activation/index.js (bytes, KiB, gzip)
 *   (c) cold module init of the bundle ÷ `require('@aws-sdk/client-ssm')` (fresh node processes)  target ≤ 1.15
 *   (d) one activation through the bundled handler (in-process, warm) ÷ one bare SDK CreateActivation call
 *       against the same loopback SSM stub                                                         target ≤ 1.2
 *   (e) synth of an app with 100 patch groups ÷ the same app with 1 (whole processes), and CloudFormation
 *       resources per patch group; the app stays within Systems Manager's default quotas (4 baselines per OS,
 *       5 shared windows for 100 groups) and the run fails (exit code 1) on any quota warning    target ≤ 2.0
 *   (f) boot storm: 200 machines run the real Linux boot script against the bundled handler behind a throttled
 *       local API front and a throttled SSM stub (scripts/bench-boot-storm.ts): time until all are registered ÷ the
 *       theoretical minimum                                                                        target ≤ 1.3
 *       share registered 100 %, activations per registered machine ≤ 1.05, SSM calls per registration (stated)
 *   (g) risk dashboard (scripts/bench-compliance-dashboard.ts): the bundled compliance-metrics function against the
 *       stub with an example fleet of 1,000 nodes: SSM requests and duration per 1,000 nodes, a throttled run, and the
 *       metric count it publishes (stated, no target)
 *   (h) fleet synth (scripts/bench-fleet-synth.ts): the full example app (central account, member accounts × Regions)
 *       ÷ a floor app with the same stacks and as many resources of plain aws-cdk-lib L2s (whole processes)
 *                                                                                                  target ≤ 1.3
 *       and the marginal synth time of one more member account/Region (ms, stated)
 * Prints a table and exits 0 whatever the results (it is a benchmark, not a test), except on a quota warning in (e).
 * Sections: all by default; only some with their names as arguments or in BENCH_ONLY (comma-separated):
 * synth, size, init, request, patch-groups, boot-storm, compliance-dashboard, fleet-synth — e.g. `npm run bench -- boot-storm`.
 * Knobs: BENCH_SYNTH_RUNS (default 7), BENCH_INIT_RUNS (15), BENCH_REQUESTS (200), BENCH_STORM_* (see (f)),
 * BENCH_FLEET_SYNTH_RUNS (5) and BENCH_FLEET_EXTRA_ACCOUNTS (2) (see (h)).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { CreateActivationCommand, type CreateActivationCommandInput, SSMClient } from '@aws-sdk/client-ssm';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { ActivationApiAuthorization, HybridActivationApi, NameConflictPolicy, type HybridActivationApiProps } from '../lib';
import { lambdaContext, restApiEvent } from '../test/support/api-gateway-event';
import { SsmStub } from '../test/support/ssm-stub';
import { interleaved, intFromEnv } from './bench-timing';
import { benchBootStorm, STORM_TARGETS } from './bench-boot-storm';
import { benchComplianceDashboard } from './bench-compliance-dashboard';
import { benchHandlerEnv } from './bench-env';
import { benchFleetSynth, FLEET_SYNTH_TARGET } from './bench-fleet-synth';

const ROOT = path.resolve(__dirname, '..');
const BUNDLE = path.join(ROOT, 'assets', 'create-activation', 'index.js');
const EXAMPLE = path.join(ROOT, 'bin', 'example.ts');
/** The register cdk.json's app uses: transpile-only, `.ts` preferred over the `.js` jsii compiles next to lib/. */
const TS_REGISTER = path.join(ROOT, 'scripts', 'ts-register.js');
const SCRATCH = path.join(ROOT, '.bench');

const SYNTH_RUNS = intFromEnv('BENCH_SYNTH_RUNS', 7);
const INIT_RUNS = intFromEnv('BENCH_INIT_RUNS', 15);
const REQUESTS = intFromEnv('BENCH_REQUESTS', 200);
const BATCH = 10;

const TARGETS = { synth: 1.5, init: 1.15, request: 1.2, patchGroups: 2.0 };

/**
 * The request bench's API: the example's tags and IAM authorization, with its bench-specific choices named. Its
 * handler's environment comes from the synthesized construct (scripts/bench-env.ts).
 */
const BENCH_API_PROPS: HybridActivationApiProps = {
  markerTagValue: 'HybridFleetExample/Activations',
  defaultTags: { PatchGroup: 'linux-web' },
  allowedTags: [{ key: 'PatchMode', values: ['report', 'enforce'] }, { key: 'Team' }],
  authorization: ActivationApiAuthorization.IAM,
  callerBinding: false,
  // Bench-specific: no node lookup before CreateActivation (and no ceiling, the default), so (d) measures the
  // handler's own overhead on the same single SSM call as the bare SDK call.
  nameConflictPolicy: NameConflictPolicy.ALLOW_DUPLICATES,
};

let handlerEnvCache: Record<string, string> | undefined;

/** The create-activation function's environment as HybridActivationApi sets it, quiet (`LOG_LEVEL` SILENT). */
function handlerEnv(): Record<string, string> {
  handlerEnvCache ??= benchHandlerEnv('create-activation', (stack) => new HybridActivationApi(stack, 'Activations', BENCH_API_PROPS), { LOG_LEVEL: 'SILENT' });
  return handlerEnvCache;
}

// ---------- statistics and printing ----------

interface Stats {
  readonly n: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

function stats(samples: readonly number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { n: s.length, median, min: s[0], max: s[s.length - 1] };
}

const out = (line = ''): void => {
  process.stdout.write(line + '\n');
};

function fmtMs(ms: number): string {
  return ms >= 100 ? `${ms.toFixed(0)} ms` : ms >= 10 ? `${ms.toFixed(1)} ms` : `${ms.toFixed(3)} ms`;
}

function statRow(label: string, s: Stats): string {
  return `    ${label.padEnd(56)} ${String(s.n).padStart(4)}  ${fmtMs(s.median).padStart(11)}  ${fmtMs(s.min).padStart(11)}  ${fmtMs(s.max).padStart(11)}`;
}

function ratioRow(label: string, a: Stats, b: Stats, target: number, paired?: number): string {
  const r = a.median / b.median;
  const verdict = r <= target ? 'PASS' : `OVER (+${((r / target - 1) * 100).toFixed(0)}% above target)`;
  const pairedText = paired === undefined ? '' : `  (median of paired ratios ${paired.toFixed(2)})`;
  return `    ${label.padEnd(56)} ${r.toFixed(3)}  target ≤ ${target}  ${verdict}${pairedText}`;
}

function header(title: string): void {
  out();
  out(title);
  out(`    ${''.padEnd(56)} ${'runs'.padStart(4)}  ${'median'.padStart(11)}  ${'min'.padStart(11)}  ${'max'.padStart(11)}`);
}

const pairedMedian = (a: number[], b: number[]): number => stats(a.map((x, i) => x / b[i])).median;

// ---------- process timing ----------

class ProcessFailed extends Error {}

/** Wall-clock time of a whole child process, in ms; throws ProcessFailed on a non-zero exit. */
function timeProcess(args: string[], env: NodeJS.ProcessEnv): number {
  const started = performance.now();
  const res = spawnSync(process.execPath, args, { cwd: ROOT, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = performance.now() - started;
  if (res.status !== 0) {
    const detail = (res.stderr || res.stdout || String(res.error ?? '')).trim().split('\n').slice(-8).join('\n      ');
    throw new ProcessFailed(`node ${args.join(' ')} exited with ${res.status ?? res.signal}:\n      ${detail}`);
  }
  return ms;
}

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...extra };
  delete env.NODE_OPTIONS;
  return env;
}

// ---------- (a) synth ----------

/** The context every synth gets, the way the CDK CLI passes cdk.json's context to the app. */
function synthContext(): Record<string, unknown> {
  const context: Record<string, unknown> = { '@aws-cdk/core:validateAgainstDefaultRules': true };
  try {
    return { ...JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')).context, ...context };
  } catch {
    return context; // no cdk.json: validation context only
  }
}

/** A function that synthesizes an app as a whole process (optionally with extra env) and returns its wall time. */
function synthRunner(tmp: string, context: Record<string, unknown>) {
  let k = 0;
  return (app: string, extraEnv: Record<string, string> = {}) => (): number => {
    const outdir = path.join(tmp, `out${k++}`);
    const ms = timeProcess(['-r', TS_REGISTER, app], childEnv({ ...extraEnv, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(context) }));
    rmSync(outdir, { recursive: true, force: true });
    return ms;
  };
}

function benchSynth(): void {
  header('(a) synth, whole process: node -r ./scripts/ts-register.js <app> (as cdk.json runs the app)');
  if (!existsSync(EXAMPLE)) {
    out('    (a) skipped: bin/example.ts not found');
    return;
  }
  mkdirSync(SCRATCH, { recursive: true });
  const emptyApp = path.join(SCRATCH, 'empty-app.ts');
  writeFileSync(
    emptyApp,
    [
      "import { App, Stack, Validations } from 'aws-cdk-lib';",
      "const app = new App({ context: { '@aws-cdk/core:validateAgainstDefaultRules': true } });",
      "const stack = new Stack(app, 'Empty');",
      '// Template validation rejects a stack without resources (F0001); acknowledge it so the baseline stays empty.',
      "Validations.of(stack).acknowledge({ id: 'CloudFormation-Validate::F0001', reason: 'empty baseline stack' });",
      'app.synth();',
      '',
    ].join('\n'),
  );
  const context = synthContext();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-synth-'));
  const synth = synthRunner(tmp, context);
  try {
    // Warm the file cache once each; check the example really synthesizes HybridFleetExample.
    synth(emptyApp)();
    const outdir = path.join(tmp, 'check');
    timeProcess(['-r', TS_REGISTER, EXAMPLE], childEnv({ CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(context) }));
    if (!existsSync(path.join(outdir, 'HybridFleetExample.template.json'))) {
      out('    note: bin/example.ts did not write HybridFleetExample.template.json to CDK_OUTDIR');
    }
    const { a, b } = interleaved(SYNTH_RUNS, synth(EXAMPLE), synth(emptyApp));
    const sa = stats(a);
    const sb = stats(b);
    out(statRow('A  bin/example.ts (HybridFleetExample)', sa));
    out(statRow('B  empty App + Stack', sb));
    out(ratioRow('A ÷ B (median ÷ median)', sa, sb, TARGETS.synth, pairedMedian(a, b)));
    results.push(['(a) synth example ÷ empty app', sa.median / sb.median, TARGETS.synth]);
  } catch (err) {
    if (!(err instanceof ProcessFailed)) throw err;
    out(`    (a) failed: ${err.message}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

// ---------- (e) patch groups at scale ----------

/*
 * The fleet shape the README's "Scale" section advises, within Systems Manager's default quotas per account and
 * Region (https://docs.aws.amazon.com/general/latest/gr/ssm.html): at most 25 patch groups per baseline, so one more
 * baseline per operating system for every 25 groups; at most 20 tasks per window, so one more shared install window
 * for every 20 groups (one install task each). 100 groups: 4 baselines per OS (8), 5 windows. The library's quota
 * guard must stay silent: the bench fails (exit code 1) on any `cdk-ssm-hybrid-fleet:quota-*` warning.
 */
const GROUPS_PER_BASELINE = 25;
const GROUPS_PER_WINDOW = 20;

const PATCH_GROUPS_APP = [
  "import { App, Duration, Stack } from 'aws-cdk-lib';",
  `import { MaintenanceSchedule, MaintenanceWindow, PatchBaseline, PatchGroup, PatchOperatingSystem } from '${path.join(ROOT, 'lib')}';`,
  'const groups = Number(process.env.BENCH_PATCH_GROUPS);',
  "const app = new App();",
  "const stack = new Stack(app, 'PatchGroups');",
  `const baselinesPerOs = Math.ceil(groups / ${GROUPS_PER_BASELINE});`,
  "const linux = Array.from({ length: baselinesPerOs }, (_, i) => PatchBaseline.criticalAndSecurityUpdates(stack, `Linux${i}`, { operatingSystem: PatchOperatingSystem.AMAZON_LINUX_2023 }));",
  "const windows = Array.from({ length: baselinesPerOs }, (_, i) => PatchBaseline.criticalAndSecurityUpdates(stack, `Windows${i}`, { operatingSystem: PatchOperatingSystem.WINDOWS }));",
  '// Shared install windows (a stack holds at most 500 resources, so 100 groups cannot each have their own window), at',
  `// most ${GROUPS_PER_WINDOW} groups (tasks) each, an hour apart.`,
  `const shared = process.env.BENCH_OWN_WINDOW ? [] : Array.from({ length: Math.ceil(groups / ${GROUPS_PER_WINDOW}) }, (_, w) => new MaintenanceWindow(stack, \`Sunday\${w}\`, { schedule: MaintenanceSchedule.cron({ weekDay: 'SUN', hour: String(w), minute: '0' }), duration: Duration.hours(4) }));`,
  'for (let i = 0; i < groups; i++) {',
  `  const b = Math.floor(i / ${GROUPS_PER_BASELINE});`,
  `  new PatchGroup(stack, \`Group\${i}\`, { patchGroupName: \`group-\${i}\`, baselines: [linux[b], windows[b]], installWindow: shared[Math.floor(i / ${GROUPS_PER_WINDOW})] });`,
  '}',
  'app.synth();',
  '',
].join('\n');

interface Synthesized {
  readonly resources: number;
  readonly quotaWarnings: string[];
}

/** Resources of the bench stack and the quota warnings of the cloud assembly. */
function readAssembly(outdir: string): Synthesized {
  const template = JSON.parse(readFileSync(path.join(outdir, 'PatchGroups.template.json'), 'utf8'));
  type Metadata = Record<string, { type: string; data: unknown }[]>;
  const manifest = JSON.parse(readFileSync(path.join(outdir, 'manifest.json'), 'utf8')) as {
    artifacts?: Record<string, { metadata?: Metadata; additionalMetadataFile?: string }>;
  };
  // aws-cdk-lib writes a stack's metadata (warnings included) inline or, as 2.276 does, to `additionalMetadataFile`.
  const metadataOf = (artifact: { metadata?: Metadata; additionalMetadataFile?: string }): Metadata => ({
    ...artifact.metadata,
    ...(artifact.additionalMetadataFile
      ? (JSON.parse(readFileSync(path.join(outdir, artifact.additionalMetadataFile), 'utf8')) as Metadata)
      : {}),
  });
  const quotaWarnings = Object.values(manifest.artifacts ?? {}).flatMap((artifact) =>
    Object.entries(metadataOf(artifact)).flatMap(([where, entries]) =>
      entries
        .filter((e) => e.type === 'aws:cdk:warning' && String(e.data).includes('[ack: cdk-ssm-hybrid-fleet:quota-'))
        .map((e) => `${where}: ${String(e.data)}`),
    ),
  );
  return { resources: Object.keys(template.Resources ?? {}).length, quotaWarnings };
}

function benchPatchGroups(): void {
  header('(e) patching at scale: synth of 100 patch groups ÷ 1 patch group (whole processes, within the default quotas)');
  mkdirSync(SCRATCH, { recursive: true });
  const app = path.join(SCRATCH, 'patch-groups-app.ts');
  writeFileSync(app, PATCH_GROUPS_APP);
  const context = synthContext();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-patch-'));
  const synth = synthRunner(tmp, context);
  const check = (groups: number, ownWindow: boolean): Synthesized => {
    const outdir = path.join(tmp, `check-${groups}-${ownWindow}`);
    timeProcess(['-r', TS_REGISTER, app], childEnv({
      BENCH_PATCH_GROUPS: String(groups), ...(ownWindow ? { BENCH_OWN_WINDOW: '1' } : {}), CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(context),
    }));
    return readAssembly(outdir);
  };
  try {
    const own = check(1, true).resources - 2; // minus the two baselines
    const shared1 = check(1, false);
    const shared100 = check(100, false);
    const warnings = [...shared1.quotaWarnings, ...shared100.quotaWarnings];
    out(`    quota warnings (cdk-ssm-hybrid-fleet:quota-*) at 1 and 100 groups: ${warnings.length} (must be 0)`);
    if (warnings.length > 0) {
      for (const w of warnings) out(`      ${w}`);
      process.exitCode = 1;
      out('    (e) failed: the bench app exceeds a Systems Manager default quota');
      return;
    }
    const { a, b } = interleaved(SYNTH_RUNS, synth(app, { BENCH_PATCH_GROUPS: '100' }), synth(app, { BENCH_PATCH_GROUPS: '1' }));
    const sa = stats(a);
    const sb = stats(b);
    out(statRow('A  100 patch groups', sa));
    out(statRow('B  1 patch group', sb));
    out(ratioRow('A ÷ B (median ÷ median)', sa, sb, TARGETS.patchGroups, pairedMedian(a, b)));
    out(`    resources per patch group: ${own} with its own install window (window, target, task, role, policy, scan association);`);
    const windows = Math.ceil(100 / GROUPS_PER_WINDOW);
    const baselines = 2 * Math.ceil(100 / GROUPS_PER_BASELINE);
    const perGroup = (shared100.resources - baselines - 3 * windows) / 100; // each window: window, role, policy
    out(`    ${perGroup.toFixed(2)} with a shared window (target, task, scan association); 100 groups + ${baselines} baselines + ${windows} windows with their roles = ${shared100.resources} resources`);
    results.push(['(e) synth 100 patch groups ÷ 1', sa.median / sb.median, TARGETS.patchGroups]);
  } catch (err) {
    if (!(err instanceof ProcessFailed)) throw err;
    out(`    (e) failed: ${err.message}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

// ---------- (b) bundle size ----------

function benchSize(): void {
  out();
  out('(b) activation handler bundle size');
  const bytes = statSync(BUNDLE).size;
  const gz = gzipSync(readFileSync(BUNDLE), { level: 9 }).length;
  out(`    ${path.relative(ROOT, BUNDLE)}: ${bytes.toLocaleString('en-US')} B (${(bytes / 1024).toFixed(1)} KiB), gzip -9 ${gz.toLocaleString('en-US')} B (${(gz / 1024).toFixed(1)} KiB)`);
}

// ---------- (c) cold module init ----------

function benchInit(): void {
  header(`(c) cold module init, fresh node processes (${INIT_RUNS} runs each, interleaved)`);
  const env = childEnv(handlerEnv());
  const bundleArgs = ['-e', `require(${JSON.stringify(BUNDLE)})`];
  const sdkArgs = ['-e', "require('@aws-sdk/client-ssm')"];
  const nodeArgs = ['-e', '0'];
  try {
    for (let i = 0; i < 2; i++) {
      timeProcess(bundleArgs, env);
      timeProcess(sdkArgs, env);
    }
    const { a, b } = interleaved(INIT_RUNS, () => timeProcess(bundleArgs, env), () => timeProcess(sdkArgs, env));
    const base = stats(Array.from({ length: Math.max(5, Math.floor(INIT_RUNS / 3)) }, () => timeProcess(nodeArgs, env)));
    const sa = stats(a);
    const sb = stats(b);
    out(statRow("A  node -e \"require('<bundle>')\" (handler env)", sa));
    out(statRow("B  node -e \"require('@aws-sdk/client-ssm')\"", sb));
    out(statRow('   (reference: node -e 0)', base));
    out(ratioRow('A ÷ B (median ÷ median)', sa, sb, TARGETS.init, pairedMedian(a, b)));
    const initA = sa.median - base.median;
    const initB = sb.median - base.median;
    out(`    ${'   above node -e 0: A ' + fmtMs(initA) + ', B ' + fmtMs(initB) + ` (ratio ${(initA / initB).toFixed(2)}, info only)`}`);
    results.push(['(c) cold init bundle ÷ client-ssm', sa.median / sb.median, TARGETS.init]);
  } catch (err) {
    if (!(err instanceof ProcessFailed)) throw err;
    out(`    (c) failed: ${err.message}`);
  }
}

// ---------- (d) warm request ----------

type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

const BENCH_CALLER = 'arn:aws:sts::111122223333:assumed-role/Provisioner/bench';

function apiEvent(name: string): APIGatewayProxyEvent {
  return restApiEvent({
    method: 'POST',
    resource: '/activations',
    body: JSON.stringify({ name, tags: { PatchMode: 'report' } }),
    userArn: BENCH_CALLER,
    userAgent: 'bench',
    requestId: 'bench',
  });
}

/** The CreateActivation input the handler sends for `apiEvent(name)` (same size and shape). */
function bareInput(name: string): CreateActivationCommandInput {
  const env = handlerEnv();
  return {
    IamRole: env.INSTANCE_ROLE_NAME,
    RegistrationLimit: 1,
    DefaultInstanceName: name,
    Description: `Activation for ${name} issued by ${env.MARKER_TAG_VALUE}`,
    ExpirationDate: new Date(Date.now() + 3600_000),
    Tags: [
      { Key: 'Name', Value: name },
      { Key: env.MARKER_TAG_KEY, Value: env.MARKER_TAG_VALUE },
      ...Object.entries(BENCH_API_PROPS.defaultTags ?? {}).map(([Key, Value]) => ({ Key, Value })),
      { Key: 'PatchMode', Value: 'report' },
    ],
  };
}

async function benchRequest(): Promise<void> {
  header(`(d) one activation, warm, in-process, loopback SSM stub (${REQUESTS} requests each, batches of ${BATCH} interleaved)`);
  const stub = new SsmStub();
  const url = await stub.start();
  const saved = { ...process.env };
  try {
    Object.assign(process.env, handlerEnv(), { AWS_ENDPOINT_URL_SSM: url });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const handler: Handler = require(BUNDLE).handler;
    const client = new SSMClient({
      region: handlerEnv().AWS_REGION,
      endpoint: url,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    let i = 0;
    const viaHandler = async (): Promise<number> => {
      const event = apiEvent(`node-${i}`);
      const ctx = lambdaContext(`bench-${i++}`, { functionName: 'bench' });
      const t = performance.now();
      const res = await handler(event, ctx);
      const ms = performance.now() - t;
      if (res.statusCode !== 201) throw new Error(`handler answered ${res.statusCode}: ${res.body}`);
      return ms;
    };
    const bare = async (): Promise<number> => {
      const input = bareInput(`node-${i++}`);
      const t = performance.now();
      const res = await client.send(new CreateActivationCommand(input));
      const ms = performance.now() - t;
      if (!res.ActivationCode) throw new Error('bare SDK call returned no code');
      return ms;
    };
    const batch = async (fn: () => Promise<number>, into: number[] | undefined, n = BATCH): Promise<void> => {
      for (let j = 0; j < n; j++) {
        const ms = await fn();
        into?.push(ms);
      }
    };
    // Warm-up: connections, JIT, credential and endpoint resolution.
    for (let w = 0; w < 3; w++) {
      await batch(viaHandler, undefined);
      await batch(bare, undefined);
    }
    const a: number[] = [];
    const b: number[] = [];
    for (let k = 0; k < Math.ceil(REQUESTS / BATCH); k++) {
      if (k % 2 === 0) {
        await batch(viaHandler, a);
        await batch(bare, b);
      } else {
        await batch(bare, b);
        await batch(viaHandler, a);
      }
    }
    const sa = stats(a);
    const sb = stats(b);
    out(statRow('A  await handler(event, ctx) (bundle)', sa));
    out(statRow('B  ssm.send(CreateActivationCommand) (plain SSMClient)', sb));
    out(ratioRow('A ÷ B (median ÷ median)', sa, sb, TARGETS.request));
    out(`    ${'   stub saw ' + stub.requestsFor('CreateActivation').length + ' CreateActivation calls'}`);
    results.push(['(d) warm request handler ÷ bare SDK', sa.median / sb.median, TARGETS.request]);
    client.destroy();
  } catch (err) {
    out(`    (d) failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
    await stub.stop();
  }
}

// ---------- (f) boot storm ----------

async function benchStorm(): Promise<void> {
  const figures = await benchBootStorm(out);
  if (!figures) return;
  results.push(['(f) boot storm: time ÷ minimum', figures.ratio, STORM_TARGETS.ratio]);
  results.push(['(f) activations per registered machine', figures.activationsPerMachine, STORM_TARGETS.activationsPerMachine]);
  // share: 1 - share ≤ 0 reads as "100 % registered"
  results.push(['(f) share of machines NOT registered', 1 - figures.share, 0]);
}

// ---------- main ----------

const results: Array<[string, number, number]> = [];

async function main(): Promise<void> {
  const started = performance.now();
  out(`cdk-ssm-hybrid-fleet benchmark — node ${process.version}, ${os.cpus().length} CPUs, ${new Date().toISOString()}`);
  if (!existsSync(BUNDLE)) {
    out(`${path.relative(ROOT, BUNDLE)} not found: run npm run bundle`);
    return;
  }
  const sections: Record<string, () => void | Promise<void>> = {
    'synth': benchSynth,
    'size': benchSize,
    'init': benchInit,
    'request': benchRequest,
    'patch-groups': benchPatchGroups,
    'boot-storm': benchStorm,
    'compliance-dashboard': async () => {
      await benchComplianceDashboard(out);
    },
    'fleet-synth': () => {
      const figures = benchFleetSynth(out);
      if (figures.ratio !== undefined) results.push(['(h) synth fleet example ÷ L2 floor', figures.ratio, FLEET_SYNTH_TARGET]);
    },
  };
  const chosen = [...process.argv.slice(2), ...(process.env.BENCH_ONLY ?? '').split(',')].map((s) => s.trim()).filter((s) => s);
  const unknown = chosen.filter((s) => !(s in sections));
  if (unknown.length > 0) {
    out(`unknown section(s) ${unknown.join(', ')}; sections: ${Object.keys(sections).join(', ')}`);
    return;
  }
  for (const [name, run] of Object.entries(sections)) {
    if (chosen.length === 0 || chosen.includes(name)) await run();
  }

  out();
  out('Summary (ratios measured side by side in this run)');
  for (const [label, ratio, target] of results) {
    out(`    ${label.padEnd(40)} ${ratio.toFixed(3).padStart(6)}  ≤ ${String(target).padEnd(5)} ${ratio <= target ? 'PASS' : 'OVER'}`);
  }
  out(`    total bench time ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

main()
  .catch((err) => {
    process.stdout.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  })
  .finally(() => {
    process.exitCode = 0;
  });
