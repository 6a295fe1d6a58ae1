/**
 * Fleet synth benchmark, section (h) of `npm run bench`; alone: `npm run bench -- fleet-synth`.
 *
 * Whole processes (`node -r ./scripts/ts-register.js <app>`, as cdk.json runs the app), the context of cdk.json,
 * A and B interleaved (A B B A ...) so machine noise hits both; medians printed.
 *   (a) synth of the full example app (bin/example.ts: central, members, boot site, private fleet) ÷ synth of a floor
 *       app with the same stacks (same ids, environments, descriptions and context), each holding as many resources as
 *       the example's stack, made of plain aws-cdk-lib L2s (SNS topics, SQS queues, IAM roles, S3 buckets, log
 *       groups, one resource each). The floor is generated from the example's synthesized templates, and checked
 *       (same stacks, same resource counts) before timing.                                          target ≤ 1.3
 *   (b) marginal synth time of one more member: the example with its member accounts ÷ the same with
 *       BENCH_FLEET_EXTRA_ACCOUNTS more (default 2), each in every Region; reported in ms per member stack (one
 *       account in one Region) and per member account, as the median of paired differences.
 * Wall and CPU time (user + system, reported by the child at exit) are printed; on a busy machine CPU is the steadier.
 * Knob: BENCH_FLEET_SYNTH_RUNS (default 5 runs of each app).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { interleaved, intFromEnv, median } from './bench-timing';

const ROOT = path.resolve(__dirname, '..');
const TS_REGISTER = path.join(ROOT, 'scripts', 'ts-register.js');
const EXAMPLE = path.join(ROOT, 'bin', 'example.ts');
const SCRATCH = path.join(ROOT, '.bench');
export const FLEET_SYNTH_TARGET = 1.3;

/** The context every synth gets, the way the CDK CLI passes cdk.json's context to the app. */
function cdkJsonContext(): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')).context;
}

/** Preloaded into each synth: prints the process's own CPU time (user + system) at exit, for the CPU figures. */
const CPU_REPORTER = path.join(SCRATCH, 'fleet-cpu-reporter.js');
const CPU_MARK = '__bench_cpu_ms=';

interface Sample {
  readonly wall: number;
  readonly cpu: number;
}

/** Synthesizes an app as a whole process into `outdir`; returns its wall and CPU time in ms, throws on a non-zero exit. */
function synth(app: string, outdir: string, extraEnv: Record<string, string> = {}): Sample {
  const env: NodeJS.ProcessEnv = {
    ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...extraEnv,
    CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(cdkJsonContext()),
  };
  delete env.NODE_OPTIONS;
  const started = performance.now();
  const res = spawnSync(process.execPath, ['-r', CPU_REPORTER, '-r', TS_REGISTER, app], { cwd: ROOT, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = performance.now() - started;
  if (res.status !== 0) throw new Error(`${path.relative(ROOT, app)} exited with ${res.status ?? res.signal}: ${(res.stderr || res.stdout).trim().split('\n').slice(-6).join(' | ')}`);
  const cpu = Number(new RegExp(`${CPU_MARK}([0-9.]+)`).exec(res.stderr)?.[1]);
  return { wall: ms, cpu };
}

interface StackShape {
  readonly id: string;
  readonly env?: { account: string; region: string };
  readonly description?: string;
  readonly resources: number;
}

const resourceCount = (template: any): number => Object.values<any>(template.Resources ?? {}).filter((r) => r.Type !== 'AWS::CDK::Metadata').length;

/**
 * The stacks of a synthesized assembly, with their resource counts (CDK metadata excluded). A StackSet template
 * (`<parent artifact id><id><hash>.stackset.template.json`, synthesized but no stack artifact) counts as a stack
 * `<parent>/StackSetTemplate`, which the floor app defines as a stack inside that parent.
 */
function shapes(outdir: string): StackShape[] {
  const manifest = JSON.parse(readFileSync(path.join(outdir, 'manifest.json'), 'utf8'));
  const stacks = stackArtifacts(manifest, outdir);
  const templates = readdirSync(outdir).filter((f) => f.endsWith('.stackset.template.json')).sort().map((f) => {
    const parent = [...stacks].sort((a, b) => b.id.length - a.id.length).find((a) => f.startsWith(a.id.replace(/[^A-Za-z0-9]/g, '')));
    return { id: `${parent?.id ?? '?'}/StackSetTemplate`, resources: resourceCount(JSON.parse(readFileSync(path.join(outdir, f), 'utf8'))) };
  });
  return [...stacks, ...templates];
}

function stackArtifacts(manifest: any, outdir: string): StackShape[] {
  return Object.entries<any>(manifest.artifacts)
    .filter(([, a]) => a.type === 'aws:cloudformation:stack')
    .map(([id, a]) => {
      const template = JSON.parse(readFileSync(path.join(outdir, a.properties.templateFile), 'utf8'));
      const resources = resourceCount(template);
      const m = /^aws:\/\/(\d{12})\/([a-z0-9-]+)$/.exec(a.environment);
      return { id: a.displayName ?? id, env: m ? { account: m[1], region: m[2] } : undefined, description: template.Description, resources };
    });
}

/** A floor app: the same stacks, each with as many one-resource aws-cdk-lib L2 constructs as the example's. */
function floorApp(stacks: StackShape[]): string {
  return [
    "import { App, Stack } from 'aws-cdk-lib';",
    "import * as iam from 'aws-cdk-lib/aws-iam';",
    "import * as logs from 'aws-cdk-lib/aws-logs';",
    "import * as s3 from 'aws-cdk-lib/aws-s3';",
    "import * as sns from 'aws-cdk-lib/aws-sns';",
    "import * as sqs from 'aws-cdk-lib/aws-sqs';",
    'const app = new App();',
    'function fill(stack: Stack, n: number): void {',
    '  for (let i = 0; i < n; i++) {',
    '    switch (i % 5) {',
    "      case 0: new sns.Topic(stack, `Topic${i}`); break;",
    "      case 1: new sqs.Queue(stack, `Queue${i}`, { encryption: sqs.QueueEncryption.SQS_MANAGED }); break;",
    "      case 2: new iam.Role(stack, `Role${i}`, { assumedBy: new iam.ServicePrincipal('ssm.amazonaws.com') }); break;",
    "      case 3: new s3.Bucket(stack, `Bucket${i}`, { enforceSSL: false }); break;",
    "      default: new logs.LogGroup(stack, `Logs${i}`, { retention: logs.RetentionDays.ONE_YEAR });",
    '    }',
    '  }',
    '}',
    // A stack defined inside another (a StackSet's template) is defined inside the same parent here.
    ...stacks.map((s, i) => {
      const parent = stacks.findIndex((p) => s.id.startsWith(`${p.id}/`));
      const scope = parent < 0 ? 'app' : `stack${parent}`;
      const id = s.id.split('/').pop()!;
      return `const stack${i} = new Stack(${scope}, ${JSON.stringify(id)}, ${JSON.stringify({ env: s.env, description: s.description })}); fill(stack${i}, ${s.resources});`;
    }),
    'app.synth();',
    '',
  ].join('\n');
}

/** The example with more member accounts (fake ids), each in every Region. */
function grownExampleApp(): string {
  return [
    "import { App } from 'aws-cdk-lib';",
    `import { buildExampleApp, MEMBER_ACCOUNTS } from ${JSON.stringify(EXAMPLE.replace(/\.ts$/, ''))};`,
    "const extra = Number(process.env.BENCH_FLEET_EXTRA ?? '0');",
    "const more = Array.from({ length: extra }, (_, i) => String(100000000001 + i * 111111111));",
    'buildExampleApp(new App(), { memberAccounts: [...MEMBER_ACCOUNTS, ...more] }).synth();',
    '',
  ].join('\n');
}

export interface FleetSynthFigures {
  /** (a) example ÷ floor, median ÷ median. */
  readonly ratio?: number;
  /** (b) ms per member stack (one account in one Region). */
  readonly msPerMemberStack?: number;
}

export function benchFleetSynth(out: (line?: string) => void): FleetSynthFigures {
  const runs = intFromEnv('BENCH_FLEET_SYNTH_RUNS', 5);
  const extraAccounts = intFromEnv('BENCH_FLEET_EXTRA_ACCOUNTS', 2);
  mkdirSync(SCRATCH, { recursive: true });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-fleet-synth-'));
  let k = 0;
  writeFileSync(CPU_REPORTER, `process.on('exit', () => { const u = process.cpuUsage(); process.stderr.write('\\n${CPU_MARK}' + (u.user + u.system) / 1000 + '\\n'); });\n`);
  const timed = (app: string, env: Record<string, string> = {}) => (): Sample => {
    const outdir = path.join(tmp, `out${k++}`);
    const ms = synth(app, outdir, env);
    rmSync(outdir, { recursive: true, force: true });
    return ms;
  };
  const wall = (samples: Sample[]): number[] => samples.map((x) => x.wall);
  const cpu = (samples: Sample[]): number[] => samples.map((x) => x.cpu);
  const row = (label: string, samples: Sample[]): string =>
    `    ${label.padEnd(58)} ${String(samples.length).padStart(3)}  wall median ${median(wall(samples)).toFixed(0).padStart(6)} ms`
    + ` (min ${Math.min(...wall(samples)).toFixed(0)}, max ${Math.max(...wall(samples)).toFixed(0)}), CPU median ${median(cpu(samples)).toFixed(0)} ms`;
  const figures: { ratio?: number; msPerMemberStack?: number } = {};
  try {
    // The example's stacks, then the floor generated from them and checked against them.
    const exampleOut = path.join(tmp, 'example');
    synth(EXAMPLE, exampleOut);
    const example = shapes(exampleOut);
    const floor = path.join(SCRATCH, 'fleet-floor-app.ts');
    writeFileSync(floor, floorApp(example));
    const floorOut = path.join(tmp, 'floor');
    synth(floor, floorOut);
    const floorShapes = shapes(floorOut);
    const key = (list: StackShape[]): string => JSON.stringify(list.map((s) => [s.id, s.env, s.resources]).sort());
    const same = key(floorShapes) === key(example);
    out();
    out(`(h) fleet synth, whole processes, ${runs} runs each, interleaved`);
    out(`    example: ${example.map((s) => `${s.id} ${s.resources}`).join(', ')} (${example.reduce((n, s) => n + s.resources, 0)} resources)`);
    if (!same) {
      out(`    (a) skipped: the floor app's stacks differ: ${floorShapes.map((s) => `${s.id} ${s.resources}`).join(', ')}`);
    } else {
      const { a, b } = interleaved(runs, timed(EXAMPLE), timed(floor));
      out(row('A  example app', a));
      out(row('B  floor app: same stacks and resource counts, plain L2s', b));
      figures.ratio = median(wall(a)) / median(wall(b));
      out(`    (a) A ÷ B wall ${figures.ratio.toFixed(3)}  target ≤ ${FLEET_SYNTH_TARGET}  ${figures.ratio <= FLEET_SYNTH_TARGET ? 'PASS' : 'OVER'}`
        + `  (median of paired ratios ${median(a.map((x, i) => x.wall / b[i].wall)).toFixed(2)}; CPU ${(median(cpu(a)) / median(cpu(b))).toFixed(3)})`);
    }

    const grown = path.join(SCRATCH, 'fleet-grown-app.ts');
    writeFileSync(grown, grownExampleApp());
    const regions = example.filter((s) => s.id.startsWith('FleetMember-')).map((s) => s.id.split('-').slice(2).join('-'));
    const perAccount = new Set(regions).size;
    const { a, b } = interleaved(runs, timed(grown, { BENCH_FLEET_EXTRA: String(extraAccounts) }), timed(grown, { BENCH_FLEET_EXTRA: '0' }));
    // The members: the FleetMember-<account>-<region> stacks and the boot site's.
    const members = example.filter((s) => s.id.startsWith('FleetMember-') || s.id === 'HybridFleetExample').length;
    out(row(`C  example with ${members + extraAccounts * perAccount} member stacks`, a));
    out(row(`D  example with ${members} member stacks`, b));
    const added = extraAccounts * perAccount;
    figures.msPerMemberStack = median(a.map((x, i) => x.wall - b[i].wall)) / added;
    const cpuPerStack = median(a.map((x, i) => x.cpu - b[i].cpu)) / added;
    out(`    (b) one more member stack (account × Region): wall ${figures.msPerMemberStack.toFixed(0)} ms, CPU ${cpuPerStack.toFixed(0)} ms;`
      + ` one more member account (${perAccount} Regions): wall ${(figures.msPerMemberStack * perAccount).toFixed(0)} ms`
      + ` (medians of paired differences ÷ ${added})`);
  } catch (err) {
    out(`    (h) failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    if (!process.env.BENCH_KEEP) for (const f of readdirSync(SCRATCH).filter((n) => n.startsWith('fleet-'))) rmSync(path.join(SCRATCH, f), { force: true });
  }
  return figures;
}
