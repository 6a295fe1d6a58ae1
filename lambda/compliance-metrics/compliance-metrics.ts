/**
 * Pure core of the compliance-metrics function (the risk dashboard's data source).
 *
 * One run reads every managed node (`DescribeInstanceInformation`: id, name, ping status), every per-node compliance
 * summary (`ListResourceComplianceSummaries`, one entry per node and compliance type) and the patch-group and mode tags
 * of each hybrid node (`ListTagsForResource`), then shapes CloudWatch embedded-metric-format (EMF) documents and the
 * log lines of the worst nodes. It has no SDK import, reads no environment, has no clock and does not log: the adapter
 * (`index.ts`) passes in the configuration, a port over single SSM calls, a sleep for backoff and a deadline.
 *
 * Cardinality is bounded: at most `maxPatchGroups` patch groups (the largest; the rest count as `(other)`), the mode
 * values the configuration names (anything else is `(other)`), at most {@link MAX_COMPLIANCE_TYPES} compliance types,
 * six severities. Severity documents are written only for combinations with at least one non-compliant node.
 */
import { isHybridNodeId, isOnline, type NodeInfo } from '../shared/nodes';
import { DeadlineExceeded } from '../shared/deadline';
import { forEachPage, type FetchPage, type Page } from '../shared/pager';
import { classifyError, errorNameOf } from '../shared/ssm-errors';
import type { SdkTag } from '../shared/tags';

export type { Page };

// ---------------------------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------------------------

/** Compliance severities, worst first (SSM-API `ComplianceSeverity`). */
export const SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL', 'UNSPECIFIED'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Per-severity counts (SDK `SeveritySummary`). */
export interface SeverityCounts {
  readonly CriticalCount?: number;
  readonly HighCount?: number;
  readonly MediumCount?: number;
  readonly LowCount?: number;
  readonly InformationalCount?: number;
  readonly UnspecifiedCount?: number;
}

/** The fields of a `ListResourceComplianceSummaries` entry the run reads (structurally an SDK item). */
export interface SummaryRecord {
  readonly ResourceId?: string;
  readonly ResourceType?: string;
  readonly ComplianceType?: string;
  readonly Status?: string;
  readonly OverallSeverity?: string;
  readonly NonCompliantSummary?: { readonly NonCompliantCount?: number; readonly SeveritySummary?: SeverityCounts };
}

/** The SSM calls of a run, one request each; each throws the SDK's error after the SDK's own retries. */
export interface ComplianceMetricsPort {
  /** One page of `DescribeInstanceInformation` (all managed nodes). */
  describeNodes(nextToken: string | undefined): Promise<Page<NodeInfo>>;
  /** One page of `ListResourceComplianceSummaries` (all nodes, all compliance types). */
  listSummaries(nextToken: string | undefined): Promise<Page<SummaryRecord>>;
  /** `ListTagsForResource` of a hybrid (`mi-`) node. */
  listTags(instanceId: string): Promise<readonly SdkTag[]>;
  /** Waits `ms` milliseconds (backoff after throttling). */
  sleep(ms: number): Promise<void>;
}

/** Configuration, read once by the adapter. */
export interface ComplianceMetricsConfig {
  readonly namespace: string;
  /** Tag key of the patch group (`PatchGroup` or `Patch Group`). */
  readonly patchGroupTagKey: string;
  /** Tag key of the report/enforce mode (`PatchMode`). */
  readonly modeTagKey: string;
  /** Mode values that get their own dimension value (e.g. `report`, `enforce`); others are `(other)`. */
  readonly modeValues: readonly string[];
  /** Compliance types whose coverage is published (e.g. `Custom:CrowdStrikeFalcon`). */
  readonly agentComplianceTypes: readonly string[];
  /** Largest patch groups that keep their own dimension value; the rest are `(other)`. */
  readonly maxPatchGroups: number;
  /** How many of the worst non-compliant nodes are logged. */
  readonly topNodes: number;
}

/** Compliance types beyond this many (the most common first) are published as `(other)`. */
export const MAX_COMPLIANCE_TYPES = 10;
/** Dimension value of a node without the tag. Parentheses are not allowed in tag values, so it never collides. */
export const UNTAGGED = '(untagged)';
/** Dimension value of patch groups beyond the cap, mode values not configured and compliance types beyond the cap. */
export const OTHER = '(other)';
/** Dimension value for EC2 nodes, whose tags `ListTagsForResource` cannot read (it takes `mi-` ids only). */
export const EC2 = '(ec2)';
/** Hybrid nodes whose tags are read at once. */
export const TAG_CONCURRENCY = 4;
/** Times a throttled call is retried by the run (after the SDK's own retries), with {@link backoffMs} between. */
export const THROTTLE_RETRIES = 3;

/** The `errorName` of a listing given up because SSM returned a `NextToken` it had already returned (a loop). */
export const REPEATED_TOKEN_ERROR = 'RepeatedNextToken';

/** Backoff before the run's retry number `attempt` (1-based) of a throttled call: 1 s, 2 s, 4 s, … capped at 16 s. */
export const backoffMs = (attempt: number): number => Math.min(16_000, 1000 * 2 ** (attempt - 1));

// ---------------------------------------------------------------------------------------------------------------
// Node view
// ---------------------------------------------------------------------------------------------------------------

/** A node's compliance for one type. */
export interface TypeCompliance {
  readonly compliant: boolean;
  /** Worst severity among the non-compliant items (undefined when compliant). */
  readonly severity?: Severity;
  /** Non-compliant item counts by severity. */
  readonly counts: Readonly<Record<Severity, number>>;
}

/** What the run knows of one node. */
export interface NodeView {
  readonly instanceId: string;
  readonly name?: string;
  readonly online: boolean;
  readonly pingStatus?: string;
  /** Raw patch-group tag value, {@link UNTAGGED} or {@link EC2}. */
  patchGroup: string;
  /** Raw mode tag value, {@link UNTAGGED} or {@link EC2}. */
  mode: string;
  readonly types: Map<string, TypeCompliance>;
}

const COUNT_FIELDS: Readonly<Record<Severity, keyof SeverityCounts>> = {
  CRITICAL: 'CriticalCount', HIGH: 'HighCount', MEDIUM: 'MediumCount', LOW: 'LowCount',
  INFORMATIONAL: 'InformationalCount', UNSPECIFIED: 'UnspecifiedCount',
};

const isSeverity = (value: unknown): value is Severity => (SEVERITIES as readonly unknown[]).includes(value);

/** A summary as a {@link TypeCompliance}: the worst severity with a non-compliant count, else `OverallSeverity`. */
export function typeCompliance(summary: SummaryRecord): TypeCompliance {
  const raw = summary.NonCompliantSummary?.SeveritySummary ?? {};
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, Math.max(0, Number(raw[COUNT_FIELDS[s]] ?? 0) || 0)])) as Record<Severity, number>;
  if (summary.Status !== 'NON_COMPLIANT') return { compliant: true, counts };
  const worst = SEVERITIES.find((s) => counts[s] > 0) ?? (isSeverity(summary.OverallSeverity) ? summary.OverallSeverity : 'UNSPECIFIED');
  return { compliant: false, severity: worst, counts };
}

/** Rank of a severity, 0 = worst. */
const rank = (severity: Severity): number => SEVERITIES.indexOf(severity);

/** A node's worst non-compliant severity across its types, or undefined when none is non-compliant. */
export function worstSeverity(node: NodeView): Severity | undefined {
  let worst: Severity | undefined;
  for (const t of node.types.values()) {
    if (!t.compliant && t.severity && (worst === undefined || rank(t.severity) < rank(worst))) worst = t.severity;
  }
  return worst;
}

/** `compliant` (has data, nothing non-compliant), `nonCompliant`, or `noData` (no compliance summary at all). */
export function nodeStatus(node: NodeView): 'compliant' | 'nonCompliant' | 'noData' {
  if (node.types.size === 0) return 'noData';
  return [...node.types.values()].every((t) => t.compliant) ? 'compliant' : 'nonCompliant';
}

// ---------------------------------------------------------------------------------------------------------------
// Run
// ---------------------------------------------------------------------------------------------------------------

/** The SSM operations of a run. */
export type Operation = 'DescribeInstanceInformation' | 'ListResourceComplianceSummaries' | 'ListTagsForResource';

/** One failure of a run. */
export interface RunError {
  readonly action: Operation;
  /** The node id for a tag read; `*` for a listing. */
  readonly id: string;
  /** The error's `name` (never its message). */
  readonly errorName: string;
  /** Only for errors that are not SDK errors (a bug rather than a failed call): the stack, for the log. */
  readonly stack?: string;
}

/** Whether the run should start no more calls (the deadline is near). */
export type ShouldStop = () => boolean;

/** What one run saw and did. */
export interface RunResult {
  /** Every listing finished (only then are fleet metrics published). */
  readonly complete: boolean;
  /** Stopped because the deadline came. */
  readonly timedOut: boolean;
  readonly nodes: readonly NodeView[];
  readonly summaries: number;
  /** Summaries of nodes that `DescribeInstanceInformation` did not list (deregistered nodes), ignored. */
  readonly orphanSummaries: number;
  /** SSM requests the run made, by operation (retries by the run included, the SDK's own not). */
  readonly calls: Readonly<Record<Operation, number>>;
  /** Calls that were throttled after the SDK's retries (and then retried by the run or given up). */
  readonly throttled: number;
  readonly errors: readonly RunError[];
}

/** Whether an error came from the SDK (it carries `$metadata`) rather than from a bug. */
const isSdkError = (err: unknown): boolean =>
  typeof err === 'object' && err !== null && ('$metadata' in err || '$fault' in err);

class RunState {
  public readonly calls: Record<Operation, number> = { DescribeInstanceInformation: 0, ListResourceComplianceSummaries: 0, ListTagsForResource: 0 };
  public readonly errors: RunError[] = [];
  public throttled = 0;
  public timedOut = false;

  constructor(private readonly port: ComplianceMetricsPort, private readonly shouldStop: ShouldStop) {}

  public stop(): boolean {
    if (!this.timedOut && this.shouldStop()) this.timedOut = true;
    return this.timedOut;
  }

  /**
   * Runs one call: retries it after a backoff while it is throttled (up to {@link THROTTLE_RETRIES} times). Throws the
   * last error, or {@link DeadlineExceeded} when the deadline comes before an attempt (before the first one only when
   * `askFirst`: the pager has just asked).
   */
  private async attempt<T>(action: Operation, fn: () => Promise<T>, askFirst = true): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      if ((askFirst || attempt > 0) && this.stop()) throw new DeadlineExceeded();
      this.calls[action] += 1;
      try {
        return await fn();
      } catch (err) {
        if (this.cutShort(err)) throw err;
        const throttled = classifyError(err) === 'throttled';
        if (throttled) this.throttled += 1;
        if (!throttled || attempt >= THROTTLE_RETRIES) throw err;
        await this.port.sleep(backoffMs(attempt + 1));
      }
    }
  }

  /** Whether a failed call was cut short by the deadline (aborted by the adapter, or not started). */
  private cutShort(err: unknown): boolean {
    const name = errorNameOf(err);
    return (name === 'AbortError' || name === 'DeadlineExceeded') && this.stop();
  }

  private record(action: Operation, id: string, err: unknown): void {
    this.errors.push({
      action, id, errorName: errorNameOf(err),
      ...(isSdkError(err) ? {} : { stack: err instanceof Error ? err.stack : String(err) }),
    });
  }

  /** Runs one call (see {@link attempt}), recording a failure. Returns `undefined` when it failed or the deadline came. */
  public async call<T>(action: Operation, id: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await this.attempt(action, fn);
    } catch (err) {
      if (!this.cutShort(err)) this.record(action, id, err);
      return undefined;
    }
  }

  /**
   * Pages through a listing with the shared pager (each page as {@link call}); false when it did not finish. A
   * `NextToken` SSM returns twice is recorded as a {@link REPEATED_TOKEN_ERROR} error.
   */
  public async list<T>(action: Operation, fetch: FetchPage<T>, onPage: (items: readonly T[]) => void): Promise<boolean> {
    const listing = await forEachPage((token) => this.attempt(action, () => fetch(token), false), onPage, {
      deadlineNear: () => this.stop(),
      cutShort: (err) => this.cutShort(err),
    });
    if (listing.end === 'failed') this.record(action, '*', listing.error);
    if (listing.end === 'repeated-token') this.errors.push({ action, id: '*', errorName: REPEATED_TOKEN_ERROR });
    return listing.end === 'done';
  }
}

/**
 * Reads the fleet: nodes, then compliance summaries, then the tags of each hybrid node ({@link TAG_CONCURRENCY} at a
 * time). Before every call it asks `shouldStop`; a throttled call is retried after a backoff. A failed listing or tag
 * read is recorded; a failed tag read leaves the node {@link UNTAGGED} and the run incomplete. Never throws for an SSM
 * failure.
 */
export async function readFleet(port: ComplianceMetricsPort, config: ComplianceMetricsConfig, shouldStop: ShouldStop = () => false): Promise<RunResult> {
  const state = new RunState(port, shouldStop);
  const nodes = new Map<string, NodeView>();
  let summaries = 0;
  let orphanSummaries = 0;
  let complete = await state.list('DescribeInstanceInformation', (t) => port.describeNodes(t), (items) => {
    for (const n of items) {
      if (!n.InstanceId || nodes.has(n.InstanceId)) continue;
      const hybrid = isHybridNodeId(n.InstanceId);
      nodes.set(n.InstanceId, {
        instanceId: n.InstanceId, name: n.Name, online: isOnline(n), pingStatus: n.PingStatus,
        patchGroup: hybrid ? UNTAGGED : EC2, mode: hybrid ? UNTAGGED : EC2, types: new Map(),
      });
    }
  });
  if (complete) {
    complete = await state.list('ListResourceComplianceSummaries', (t) => port.listSummaries(t), (items) => {
      for (const s of items) {
        summaries += 1;
        const node = s.ResourceId ? nodes.get(s.ResourceId) : undefined;
        if (!node || !s.ComplianceType) {
          orphanSummaries += 1;
          continue;
        }
        node.types.set(s.ComplianceType, typeCompliance(s));
      }
    });
  }
  if (complete) {
    const queue = [...nodes.values()].filter((n) => isHybridNodeId(n.instanceId));
    const worker = async (): Promise<void> => {
      for (let node = queue.shift(); node; node = queue.shift()) {
        const current = node;
        const tags = await state.call('ListTagsForResource', current.instanceId, () => port.listTags(current.instanceId));
        if (tags === undefined) {
          complete = false;
          if (state.timedOut) return;
          continue;
        }
        current.patchGroup = tags.find((t) => t.Key === config.patchGroupTagKey)?.Value ?? UNTAGGED;
        current.mode = tags.find((t) => t.Key === config.modeTagKey)?.Value ?? UNTAGGED;
      }
    };
    await Promise.all(Array.from({ length: TAG_CONCURRENCY }, worker));
  }
  return {
    complete: complete && !state.timedOut, timedOut: state.timedOut, nodes: [...nodes.values()], summaries, orphanSummaries,
    calls: state.calls, throttled: state.throttled, errors: state.errors,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Metrics (CloudWatch embedded metric format)
// ---------------------------------------------------------------------------------------------------------------

/** One EMF document: one log line, one value per dimension. */
export interface EmfDocument {
  readonly _aws: {
    readonly Timestamp: number;
    readonly CloudWatchMetrics: readonly [{
      readonly Namespace: string;
      readonly Dimensions: readonly (readonly string[])[];
      readonly Metrics: ReadonlyArray<{ readonly Name: string; readonly Unit: 'Count' | 'Percent' | 'Milliseconds' }>;
    }];
  };
  readonly [field: string]: unknown;
}

function emf(namespace: string, timestamp: number, dimensions: Record<string, string>, values: Record<string, number>, units: Record<string, 'Percent' | 'Milliseconds'> = {}): EmfDocument {
  return {
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [{
        Namespace: namespace,
        Dimensions: [Object.keys(dimensions)],
        Metrics: Object.keys(values).map((Name) => ({ Name, Unit: units[Name] ?? 'Count' })),
      }],
    },
    ...dimensions,
    ...values,
  };
}

/** Figures of a group of nodes; `CompliancePercent` only when some node has compliance data. */
function groupFigures(nodes: readonly NodeView[]): Record<string, number> {
  const figures: Record<string, number> = { Nodes: nodes.length, CompliantNodes: 0, NonCompliantNodes: 0, NoDataNodes: 0, OnlineNodes: 0, OfflineNodes: 0 };
  for (const node of nodes) {
    const status = nodeStatus(node);
    figures[status === 'compliant' ? 'CompliantNodes' : status === 'nonCompliant' ? 'NonCompliantNodes' : 'NoDataNodes'] += 1;
    figures[node.online ? 'OnlineNodes' : 'OfflineNodes'] += 1;
  }
  const known = figures.CompliantNodes + figures.NonCompliantNodes;
  if (known > 0) figures.CompliancePercent = Math.round((10_000 * figures.CompliantNodes) / known) / 100;
  return figures;
}

/** Keeps the `max` most frequent values (ties by name), mapping the rest to {@link OTHER}; special values stay. */
export function capValues(values: readonly string[], max: number, keep: (value: string) => boolean = () => false): (value: string) => string {
  const counts = new Map<string, number>();
  for (const v of values) if (!keep(v)) counts.set(v, (counts.get(v) ?? 0) + 1);
  const kept = new Set([...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, max).map(([v]) => v));
  return (value) => (keep(value) || kept.has(value) ? value : OTHER);
}

const isSpecial = (value: string): boolean => value === UNTAGGED || value === EC2;

/** The dimension values of each node, after the caps. */
export interface Dimensioned {
  readonly node: NodeView;
  readonly patchGroup: string;
  readonly mode: string;
}

/** Applies the caps: patch groups (`maxPatchGroups`), mode values (configured ones only). */
export function dimension(nodes: readonly NodeView[], config: Pick<ComplianceMetricsConfig, 'maxPatchGroups' | 'modeValues'>): Dimensioned[] {
  const group = capValues(nodes.map((n) => n.patchGroup), config.maxPatchGroups, isSpecial);
  const mode = (value: string): string => (isSpecial(value) || config.modeValues.includes(value) ? value : OTHER);
  return nodes.map((node) => ({ node, patchGroup: group(node.patchGroup), mode: mode(node.mode) }));
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return new Map([...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The fleet's EMF documents (see the README, "Risk dashboard", for the list and the metric-count formula):
 * per patch group × mode, per mode, fleet-wide, per compliance type × severity × patch group × mode (non-zero only),
 * per severity (all six, worst severity of each node), and per agent compliance type.
 */
export function fleetDocuments(nodes: readonly NodeView[], config: ComplianceMetricsConfig, timestamp: number): EmfDocument[] {
  const ns = config.namespace;
  const percent = { CompliancePercent: 'Percent' as const };
  const rows = dimension(nodes, config);
  const docs: EmfDocument[] = [];
  for (const [key, members] of groupBy(rows, (r) => `${r.patchGroup}\u0000${r.mode}`)) {
    const [PatchGroup, Mode] = key.split('\u0000');
    docs.push(emf(ns, timestamp, { PatchGroup, Mode }, groupFigures(members.map((m) => m.node)), percent));
  }
  for (const [Mode, members] of groupBy(rows, (r) => r.mode)) {
    docs.push(emf(ns, timestamp, { Mode }, groupFigures(members.map((m) => m.node)), percent));
  }
  docs.push(emf(ns, timestamp, {}, groupFigures(nodes), percent));

  const typeOf = capValues(nodes.flatMap((n) => [...n.types.keys()]), MAX_COMPLIANCE_TYPES);
  const bySeverity = new Map<string, number>();
  for (const row of rows) {
    const worstPerType = new Map<string, Severity>();
    for (const [type, c] of row.node.types) {
      if (c.compliant || !c.severity) continue;
      const capped = typeOf(type);
      const before = worstPerType.get(capped);
      if (before === undefined || rank(c.severity) < rank(before)) worstPerType.set(capped, c.severity);
    }
    for (const [type, severity] of worstPerType) {
      const key = [type, severity, row.patchGroup, row.mode].join('\u0000');
      bySeverity.set(key, (bySeverity.get(key) ?? 0) + 1);
    }
  }
  for (const [key, count] of [...bySeverity].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const [ComplianceType, Severity, PatchGroup, Mode] = key.split('\u0000');
    docs.push(emf(ns, timestamp, { ComplianceType, Severity, PatchGroup, Mode }, { NonCompliantNodes: count }));
  }
  for (const severity of SEVERITIES) {
    const count = nodes.filter((n) => worstSeverity(n) === severity).length;
    docs.push(emf(ns, timestamp, { Severity: severity }, { NonCompliantNodes: count }));
  }
  for (const type of config.agentComplianceTypes) {
    const covered = nodes.filter((n) => n.types.get(type)?.compliant === true).length;
    const values: Record<string, number> = { NodesWithAgent: covered, NodesWithoutAgent: nodes.length - covered };
    if (nodes.length > 0) values.AgentCoveragePercent = Math.round((10_000 * covered) / nodes.length) / 100;
    docs.push(emf(ns, timestamp, { ComplianceType: type }, values, { AgentCoveragePercent: 'Percent' }));
  }
  return docs;
}

/** The run's own document (no dimension): `ScanComplete` (1 or 0), `SsmCalls`, `Throttled`, `Errors`, `DurationMs`. */
export function runDocument(result: RunResult, namespace: string, timestamp: number, durationMs: number): EmfDocument {
  const calls = Object.values(result.calls).reduce((a, b) => a + b, 0);
  return emf(namespace, timestamp, {}, {
    ScanComplete: result.complete ? 1 : 0, SsmCalls: calls, Throttled: result.throttled, Errors: result.errors.length, DurationMs: durationMs,
  }, { DurationMs: 'Milliseconds' });
}

/** Distinct metrics (name + dimension values) in a set of documents: what CloudWatch bills per month. */
export function metricCount(docs: readonly EmfDocument[]): number {
  const seen = new Set<string>();
  for (const doc of docs) {
    const [directive] = doc._aws.CloudWatchMetrics;
    const dims = directive.Dimensions.flat().map((d) => `${d}=${String(doc[d])}`).join(',');
    for (const m of directive.Metrics) seen.add(`${directive.Namespace}|${m.Name}|${dims}`);
  }
  return seen.size;
}

// ---------------------------------------------------------------------------------------------------------------
// Worst nodes (structured log lines for Logs Insights)
// ---------------------------------------------------------------------------------------------------------------

/** Message of a worst-node log line (the dashboard's Logs Insights widget filters on it). */
export const NODE_MESSAGE = 'non-compliant node';
/** Message of the run summary line. */
export const RUN_MESSAGE = 'compliance metrics run';

/** Fields of a worst-node log line. */
export interface NodeLine {
  readonly instanceId: string;
  readonly name?: string;
  readonly patchGroup: string;
  readonly mode: string;
  readonly pingStatus?: string;
  readonly worstSeverity: Severity;
  readonly nonCompliantTypes: readonly string[];
  readonly critical: number;
  readonly high: number;
  readonly medium: number;
  readonly low: number;
  readonly informational: number;
  readonly unspecified: number;
}

/** The `max` worst non-compliant nodes: worst severity first, then most critical, high, … items, then id. */
export function worstNodes(nodes: readonly NodeView[], max: number): NodeLine[] {
  const lines: NodeLine[] = [];
  for (const node of nodes) {
    const worst = worstSeverity(node);
    if (worst === undefined) continue;
    const totals = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
    const types: string[] = [];
    for (const [type, c] of node.types) {
      if (c.compliant) continue;
      types.push(type);
      for (const s of SEVERITIES) totals[s] += c.counts[s];
    }
    lines.push({
      instanceId: node.instanceId, name: node.name, patchGroup: node.patchGroup, mode: node.mode, pingStatus: node.pingStatus,
      worstSeverity: worst, nonCompliantTypes: types.sort(),
      critical: totals.CRITICAL, high: totals.HIGH, medium: totals.MEDIUM, low: totals.LOW,
      informational: totals.INFORMATIONAL, unspecified: totals.UNSPECIFIED,
    });
  }
  const key = (l: NodeLine): number[] => [rank(l.worstSeverity), -l.critical, -l.high, -l.medium, -l.low, -l.informational, -l.unspecified];
  lines.sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] - kb[i];
    return a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0;
  });
  return lines.slice(0, max);
}
