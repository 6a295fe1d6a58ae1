/**
 * Renders the risk dashboard of `ComplianceDashboard` to `docs/dashboard.svg`, offline, for the README:
 * `npm run docs:dashboard` (after `npm run bundle`, which the construct's function asset needs).
 *
 * Nothing is drawn by hand: the widgets, their places, titles, metrics, SEARCH expressions, axes, stacking, the Logs
 * Insights query and the alarms come from the synthesized template (the dashboard body and the alarm resources). The
 * data is two weeks of a sample fleet of 400 nodes moving from report to enforce mode, run through the function's own
 * core (`fleetDocuments`, `worstNodes`), so every series is an EMF metric the function would publish. A small SVG
 * renderer draws line and stacked-area graphs, single values, the alarm states and the log table; it is deterministic,
 * so test/compliance/dashboard-svg.test.ts can check that the committed picture is what this script produces now.
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import {
  fleetDocuments,
  runDocument,
  typeCompliance,
  worstNodes,
  type ComplianceMetricsConfig,
  type EmfDocument,
  type NodeLine,
  type NodeView,
  type RunResult,
} from '../lambda/compliance-metrics/compliance-metrics';
import { ComplianceDashboard } from '../lib';

const OUT = path.join(__dirname, '..', 'docs', 'dashboard.svg');
const AGENT = 'Custom:CrowdStrikeFalcon';
const DAYS = 14;
const FLEET = 400;
const GROUPS = ['linux-web', 'linux-db', 'windows-app', 'billing-app', 'batch'];
const FIRST_DAY = Date.UTC(2026, 10, 17);
const COL = 46;
/** Legend rows under a graph; more series are summed up in one entry. */
const MAX_LEGEND_ROWS = 3;
const ROW = 30;
const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const SEVERITY_COLORS: Record<string, string> = {
  CRITICAL: '#b2182b', HIGH: '#ef8a62', MEDIUM: '#fddbc7', LOW: '#d1e5f0', INFORMATIONAL: '#67a9cf', UNSPECIFIED: '#bababa',
};

// ---------------------------------------------------------------------------------------------------------------
// Sample data: the function's own core over a deterministic fleet
// ---------------------------------------------------------------------------------------------------------------

/** The fleet on one day: enforce mode spreads from 10 % to 75 % of the nodes; enforce nodes get patched. */
export function sampleFleet(day: number): NodeView[] {
  const nodes: NodeView[] = [];
  for (let i = 1; i <= FLEET; i++) {
    const ec2 = i % 10 === 0;
    const untagged = !ec2 && i % 29 === 0;
    const group = GROUPS[Math.min(GROUPS.length - 1, Math.floor(Math.sqrt((i * 7) % 25)))];
    const enforce = (i * 37) % 100 < 10 + (65 * day) / (DAYS - 1);
    const mode = ec2 ? '(ec2)' : untagged ? '(untagged)' : enforce ? 'enforce' : 'report';
    const seen = (i * 13 + day * 7) % 100;
    // Report-mode nodes stay about as they are; enforce-mode ones are patched in the weekly window (days 6 and 13).
    const risk = enforce && !ec2 ? (day >= 6 ? (day >= 13 ? 2 : 5) : 14) : 22;
    const counts: Record<string, number> = {};
    if (seen < risk) {
      if (seen % 7 === 0) counts.CriticalCount = 1 + (i % 3);
      else if (seen % 3 === 0) counts.HighCount = 1 + (i % 4);
      else if (seen % 2 === 0) counts.MediumCount = 2;
      else counts.LowCount = 1;
    }
    const nonCompliant = Object.keys(counts).length > 0;
    const types = new Map([
      ['Patch', typeCompliance({ Status: nonCompliant ? 'NON_COMPLIANT' : 'COMPLIANT', NonCompliantSummary: { SeveritySummary: counts } })],
      ['Association', typeCompliance({ Status: (i + day) % 41 === 0 ? 'NON_COMPLIANT' : 'COMPLIANT', OverallSeverity: 'HIGH' })],
    ]);
    if ((i * 7) % 100 < 70 + 2 * day) types.set(AGENT, typeCompliance({ Status: 'COMPLIANT' }));
    nodes.push({
      instanceId: `${ec2 ? 'i' : 'mi'}-${i.toString(16).padStart(17, '0')}`, name: `${group}-${String(i).padStart(3, '0')}`,
      online: (i + day) % 23 !== 0, pingStatus: (i + day) % 23 !== 0 ? 'Online' : 'ConnectionLost',
      patchGroup: ec2 ? '(ec2)' : untagged ? '(untagged)' : group, mode, types,
    });
  }
  return nodes;
}

/** Metric values by series key (`name|dim=value,...` with dimensions sorted), one value per day (undefined = none). */
type Store = Map<string, (number | undefined)[]>;

const seriesKey = (name: string, dims: Record<string, string>): string =>
  `${name}|${Object.keys(dims).sort().map((d) => `${d}=${dims[d]}`).join(',')}`;

function sampleStore(config: ComplianceMetricsConfig): { store: Store; lastNodes: NodeView[] } {
  const store: Store = new Map();
  let lastNodes: NodeView[] = [];
  for (let day = 0; day < DAYS; day++) {
    lastNodes = sampleFleet(day);
    const timestamp = FIRST_DAY + day * 86_400_000;
    for (const doc of fleetDocuments(lastNodes, config, timestamp)) addDoc(store, doc, day);
    const calls = { DescribeInstanceInformation: 8, ListResourceComplianceSummaries: 24, ListTagsForResource: 360 };
    const run: RunResult = { complete: true, timedOut: false, nodes: lastNodes, summaries: 1100, orphanSummaries: 0, calls, throttled: 0, errors: [] };
    addDoc(store, runDocument(run, config.namespace, timestamp, 42_000), day);
  }
  return { store, lastNodes };
}

function addDoc(store: Store, doc: EmfDocument, day: number): void {
  const [directive] = doc._aws.CloudWatchMetrics;
  const dims = Object.fromEntries(directive.Dimensions.flat().map((d) => [d, String(doc[d])]));
  for (const { Name } of directive.Metrics) {
    const key = seriesKey(Name, dims);
    const values = store.get(key) ?? Array<number | undefined>(DAYS).fill(undefined);
    values[day] = Number(doc[Name]);
    store.set(key, values);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The construct's own definition
// ---------------------------------------------------------------------------------------------------------------

interface Definition {
  readonly body: { widgets: any[] };
  readonly alarms: Map<string, any>;
  readonly config: ComplianceMetricsConfig;
}

/** Flattens a resolved CloudFormation value: the Region becomes `eu-west-1`, other references their logical id. */
function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, any>;
  if (v['Fn::Join']) return (v['Fn::Join'][1] as unknown[]).map(flatten).join(v['Fn::Join'][0]);
  if (v.Ref === 'AWS::Region') return 'eu-west-1';
  if (v.Ref) return String(v.Ref).replace(/^AWS::/, '');
  if (v['Fn::GetAtt']) return `arn:aws:cloudwatch:eu-west-1:111122223333:alarm:${v['Fn::GetAtt'][0]}`;
  return JSON.stringify(value);
}

export function definition(): Definition {
  const app = new App();
  const stack = new Stack(app, 'RiskDashboard');
  const risk = new ComplianceDashboard(stack, 'Risk', { agentComplianceTypes: [AGENT] });
  const template = app.synth().getStackByName('RiskDashboard').template as { Resources: Record<string, any> };
  const cfn = risk.dashboard.node.defaultChild as cloudwatch.CfnDashboard;
  const body = JSON.parse(flatten(stack.resolve(cfn.dashboardBody)));
  const alarms = new Map(Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm'));
  const fn = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::Function').Properties.Environment.Variables;
  const config: ComplianceMetricsConfig = {
    namespace: fn.METRICS_NAMESPACE, patchGroupTagKey: fn.PATCH_GROUP_TAG_KEY, modeTagKey: fn.MODE_TAG_KEY,
    modeValues: JSON.parse(flatten(fn.MODE_VALUES)), agentComplianceTypes: JSON.parse(flatten(fn.AGENT_COMPLIANCE_TYPES)),
    maxPatchGroups: Number(fn.MAX_PATCH_GROUPS), topNodes: Number(fn.TOP_NODES),
  };
  return { body, alarms, config };
}

// ---------------------------------------------------------------------------------------------------------------
// Series of a widget
// ---------------------------------------------------------------------------------------------------------------

interface Series {
  readonly label: string;
  readonly values: (number | undefined)[];
  readonly right: boolean;
  readonly color?: string;
}

/** The series of a metric widget: plain metrics `[ns, name, dim, value, ..., {options}]` and SEARCH expressions. */
function widgetSeries(metrics: any[], store: Store): Series[] {
  const out: Series[] = [];
  for (const entry of metrics) {
    const options = typeof entry[entry.length - 1] === 'object' ? entry[entry.length - 1] : {};
    const right = options.yAxis === 'right';
    if (options.expression) {
      const match = /^SEARCH\('\{([^,]+),([^}]+)\} MetricName="([^"]+)"'/.exec(options.expression);
      if (!match) throw new Error(`unsupported expression ${options.expression}`);
      const dimNames = match[2].split(',').sort();
      for (const [key, values] of store) {
        const [name, dims] = key.split('|');
        const pairs = dims ? dims.split(',').map((p) => p.split('=')) : [];
        if (name !== match[3] || pairs.map((p) => p[0]).join(',') !== dimNames.join(',')) continue;
        out.push({ label: pairs.map((p) => p[1]).join(' '), values, right });
      }
      continue;
    }
    const plain = entry.filter((e: unknown) => typeof e === 'string') as string[];
    const [, name, ...rest] = plain;
    const dims: Record<string, string> = {};
    for (let i = 0; i + 1 < rest.length; i += 2) dims[rest[i]] = rest[i + 1];
    const values = store.get(seriesKey(name, dims)) ?? Array<number | undefined>(DAYS).fill(undefined);
    out.push({ label: options.label ?? name, values, right, color: options.color ?? SEVERITY_COLORS[dims.Severity ?? ''] });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// SVG
// ---------------------------------------------------------------------------------------------------------------

const esc = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (n: number): string => (Math.round(n * 10) / 10).toString();
const fmt = (n: number | undefined): string => (n === undefined ? '–' : Number.isInteger(n) ? String(n) : n.toFixed(1));
const text = (x: number, y: number, content: string, attrs = ''): string => `<text x="${num(x)}" y="${num(y)}"${attrs ? ' ' + attrs : ''}>${esc(content)}</text>`;
const day = (i: number): string => new Date(FIRST_DAY + i * 86_400_000).toISOString().slice(5, 10);

function graph(w: any, store: Store, box: Box): string {
  const p = w.properties;
  const series = widgetSeries(p.metrics ?? [], store);
  const left = series.filter((s) => !s.right);
  const right = series.filter((s) => s.right);
  const legendRows = Math.min(MAX_LEGEND_ROWS, Math.ceil(series.length / 4));
  const plot = { x: box.x + 40, y: box.y + 30, w: box.w - (right.length > 0 ? 80 : 52), h: box.h - 58 - legendRows * 14 };
  const parts: string[] = [];
  const stacked = p.stacked === true;
  const axis = (list: Series[], spec: any): { min: number; max: number } => {
    const totals = stacked && list === left
      ? Array.from({ length: DAYS }, (_, i) => list.reduce((sum, s) => sum + (s.values[i] ?? 0), 0))
      : list.flatMap((s) => s.values.filter((v): v is number => v !== undefined));
    const max = spec?.max ?? Math.max(1, ...totals) * 1.1;
    return { min: spec?.min ?? 0, max };
  };
  const yl = axis(left, p.yAxis?.left);
  const yr = axis(right, p.yAxis?.right);
  const xAt = (i: number) => plot.x + (plot.w * i) / (DAYS - 1);
  const yAt = (v: number, a: { min: number; max: number }) => plot.y + plot.h - (plot.h * (v - a.min)) / (a.max - a.min || 1);
  for (let t = 0; t <= 4; t++) {
    const v = yl.min + ((yl.max - yl.min) * t) / 4;
    const y = yAt(v, yl);
    parts.push(`<line x1="${num(plot.x)}" y1="${num(y)}" x2="${num(plot.x + plot.w)}" y2="${num(y)}" class="grid"/>`);
    parts.push(text(plot.x - 4, y + 3, fmt(Math.round(v)), 'class="tick" text-anchor="end"'));
    if (right.length > 0) parts.push(text(plot.x + plot.w + 4, y + 3, fmt(Math.round(yr.min + ((yr.max - yr.min) * t) / 4)), 'class="tick"'));
  }
  for (let i = 0; i < DAYS; i += 3) parts.push(text(xAt(i), plot.y + plot.h + 12, day(i), 'class="tick" text-anchor="middle"'));
  const base = Array<number>(DAYS).fill(0);
  series.forEach((s, k) => {
    const color = s.color ?? PALETTE[k % PALETTE.length];
    const a = s.right ? yr : yl;
    if (stacked && !s.right) {
      const top = s.values.map((v, i) => base[i] + (v ?? 0));
      const upper = top.map((v, i) => `${num(xAt(i))},${num(yAt(v, a))}`);
      const lower = base.map((v, i) => `${num(xAt(i))},${num(yAt(v, a))}`).reverse();
      parts.push(`<polygon points="${[...upper, ...lower].join(' ')}" fill="${color}" fill-opacity="0.85" stroke="${color}"/>`);
      top.forEach((v, i) => (base[i] = v));
    } else {
      const points = s.values.map((v, i) => (v === undefined ? undefined : `${num(xAt(i))},${num(yAt(v, a))}`)).filter((pt) => pt !== undefined);
      parts.push(`<polyline points="${points.join(' ')}" fill="none" stroke="${color}" stroke-width="2"${s.right ? ' stroke-dasharray="5 3"' : ''}/>`);
    }
    const shown = MAX_LEGEND_ROWS * 4 - (series.length > MAX_LEGEND_ROWS * 4 ? 1 : 0);
    if (k > shown) return;
    const lx = box.x + 10 + (k % 4) * ((box.w - 20) / 4);
    const ly = plot.y + plot.h + 26 + Math.floor(k / 4) * 14;
    if (k === shown) {
      parts.push(text(lx, ly, `… and ${series.length - shown} more series`, 'class="legend"'));
      return;
    }
    parts.push(`<rect x="${num(lx)}" y="${num(ly - 8)}" width="9" height="9" fill="${color}"/>`);
    const room = Math.floor((box.w - 20) / 4 / 5.6) - 3;
    parts.push(text(lx + 13, ly, s.label.length > room ? `${s.label.slice(0, room - 1)}…` : s.label, 'class="legend"'));
  });
  return parts.join('\n');
}

function singleValue(w: any, store: Store, box: Box): string {
  const series = widgetSeries(w.properties.metrics, store);
  const width = box.w / series.length;
  return series.map((s, k) => {
    const last = [...s.values].reverse().find((v) => v !== undefined);
    const x = box.x + width * k + width / 2;
    return [text(x, box.y + 56, s.label, 'class="label" text-anchor="middle"'), text(x, box.y + 94, fmt(last), 'class="big" text-anchor="middle"')].join('\n');
  }).join('\n');
}

const OPERATORS: Record<string, string> = {
  GreaterThanThreshold: '>', LessThanThreshold: '<', GreaterThanOrEqualToThreshold: '≥', LessThanOrEqualToThreshold: '≤',
};

function alarmState(alarm: any, store: Store): 'ALARM' | 'OK' {
  const p = alarm.Properties;
  const dims = Object.fromEntries((p.Dimensions ?? []).map((d: any) => [d.Name, d.Value]));
  const values = store.get(seriesKey(p.MetricName, dims)) ?? [];
  const last = values[values.length - 1];
  if (last === undefined) return p.TreatMissingData === 'breaching' ? 'ALARM' : 'OK';
  const breach = { GreaterThanThreshold: last > p.Threshold, LessThanThreshold: last < p.Threshold, GreaterThanOrEqualToThreshold: last >= p.Threshold, LessThanOrEqualToThreshold: last <= p.Threshold }[p.ComparisonOperator as string];
  return breach ? 'ALARM' : 'OK';
}

function alarms(w: any, def: Definition, store: Store, box: Box): string {
  return (w.properties.alarms as string[]).map((arn, k) => {
    const id = arn.split(':').pop() as string;
    const alarm = def.alarms.get(id);
    const state = alarm ? alarmState(alarm, store) : 'OK';
    const y = box.y + 44 + k * 24;
    const title = id.replace(/^Risk/, '').replace(/[0-9A-F]{8}$/, '');
    return [
      `<rect x="${num(box.x + 12)}" y="${num(y - 12)}" width="60" height="17" rx="3" class="${state === 'ALARM' ? 'alarm' : 'ok'}"/>`,
      text(box.x + 42, y + 1, state, 'class="state" text-anchor="middle"'),
      text(box.x + 82, y + 1, `${title}: ${alarm.Properties.MetricName} ${OPERATORS[alarm.Properties.ComparisonOperator] ?? '?'} ${alarm.Properties.Threshold}`, 'class="legend"'),
    ].join('\n');
  }).join('\n');
}

function logTable(w: any, lines: NodeLine[], box: Box): string {
  const query: string = w.properties.query;
  const columns = [...query.matchAll(/latest\((\w+)\) as (\w+)/g)].map((m) => ({ field: m[1] as keyof NodeLine, alias: m[2] }));
  const limit = Number(/limit (\d+)/.exec(query)?.[1] ?? 20);
  const rows = lines.slice(0, Math.min(limit, Math.floor((box.h - 60) / 15)));
  const all = [{ field: 'instanceId' as keyof NodeLine, alias: 'instanceId' }, ...columns];
  // Columns as wide as their longest text (about 6 px a character), spread over the widget.
  const chars = all.map((c) => Math.max(c.alias.length, ...rows.map((row) => String(row[c.field] ?? '').length)) + 2);
  const unit = (box.w - 20) / chars.reduce((a, b) => a + b, 0);
  const xs = chars.map((_, k) => box.x + 10 + unit * chars.slice(0, k).reduce((a, b) => a + b, 0));
  const parts = all.map((c, k) => text(xs[k], box.y + 44, c.alias, 'class="th"'));
  rows.forEach((row, r) => all.forEach((c, k) => parts.push(text(xs[k], box.y + 60 + r * 15, String(row[c.field] ?? ''), 'class="td"'))));
  parts.push(text(box.x + 10, box.y + box.h - 8, `Logs Insights: ${query.split('\n')[0].replace(/^SOURCE '[^']*' \| /, '')} | stats … by instanceId | sort … | limit ${limit}`, 'class="tick"'));
  return parts.join('\n');
}

interface Box {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

/** The SVG of the dashboard: the construct's definition over the sample data. */
export function renderDashboardSvg(): string {
  const def = definition();
  const { store, lastNodes } = sampleStore(def.config);
  const worst = worstNodes(lastNodes, def.config.topNodes);
  const height = Math.max(...def.body.widgets.map((w) => w.y + w.height)) * ROW + 48;
  const width = 24 * COL + 16;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    '<style>.title{font-size:13px;font-weight:bold;fill:#16191f}.tick{font-size:9px;fill:#545b64}.legend{font-size:10px;fill:#16191f}'
      + '.label{font-size:11px;fill:#545b64}.big{font-size:30px;fill:#16191f}.grid{stroke:#e9ebed}.state{font-size:10px;font-weight:bold;fill:#fff}'
      + '.alarm{fill:#d13212}.ok{fill:#1d8102}.th{font-size:10px;font-weight:bold;fill:#16191f}.td{font-size:10px;fill:#16191f}</style>',
    `<rect width="${width}" height="${height}" fill="#f2f3f3"/>`,
    text(8, 24, `Risk dashboard (ComplianceDashboard): sample fleet of ${FLEET} nodes, ${DAYS} days, ${day(0)} to ${day(DAYS - 1)}`, 'class="title"'),
  ];
  for (const w of def.body.widgets) {
    const box: Box = { x: 8 + w.x * COL, y: 36 + w.y * ROW, w: w.width * COL - 8, h: w.height * ROW - 8 };
    out.push(`<g><rect x="${box.x}" y="${box.y}" width="${box.w}" height="${box.h}" fill="#fff" stroke="#d5dbdb"/>`);
    out.push(text(box.x + 10, box.y + 18, w.properties.title ?? '', 'class="title"'));
    if (w.type === 'alarm') out.push(alarms(w, def, store, box));
    else if (w.type === 'log') out.push(logTable(w, worst, box));
    else if (w.properties.view === 'singleValue') out.push(singleValue(w, store, box));
    else out.push(graph(w, store, box));
    out.push('</g>');
  }
  out.push('</svg>', '');
  return out.join('\n');
}

if (require.main === module) {
  writeFileSync(OUT, renderDashboardSvg());
  process.stdout.write(`wrote ${path.relative(process.cwd(), OUT)}\n`);
}
