/**
 * Pure core of the janitor handler (docs/handler-contract.md, "janitor").
 *
 * Decides which of this API's activations to delete and which of its nodes to deregister, carries the decisions out
 * through a {@link JanitorPort} (one item's failure never stops the others), and shapes the run summary and its
 * CloudWatch embedded-metric-format log line. It has no SDK import, reads no environment and does not log: the adapter
 * (`index.ts`) passes in the configuration, the current time, a clock for the duration, a deadline and the port.
 * Listings are processed page by page: the run holds one page of activations at a time, and of the nodes only the
 * candidates for deregistration.
 */
import { isHybridNodeId, isOnline, type NodeInfo } from '../shared/nodes';
import { forEachPage, type FetchPage, type Page } from '../shared/pager';
import { errorNameOf } from '../shared/ssm-errors';
import type { MarkerTag } from '../shared/tags';

export type { MarkerTag, Page };

// ---------------------------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------------------------

/** A tag as `DescribeActivations` returns it. */
export interface TagRecord {
  readonly Key?: string;
  readonly Value?: string;
}

/** The fields of a `DescribeActivations` entry the janitor reads (structurally an SDK `Activation`). */
export interface ActivationRecord {
  readonly ActivationId?: string;
  readonly Expired?: boolean;
  readonly RegistrationLimit?: number;
  readonly RegistrationsCount?: number;
  readonly Tags?: readonly TagRecord[];
}

/** The fields of a `DescribeInstanceInformation` entry the janitor reads (structurally an SDK `InstanceInformation`). */
export interface NodeRecord extends NodeInfo {
  readonly LastPingDateTime?: Date;
}

/**
 * The side effects, one SSM call each. Each call either succeeds or throws the SDK's error (after the SDK's own
 * retries); a call cut short by the deadline throws an error named {@link ABORT_ERROR}.
 */
export interface JanitorPort {
  /** One page of `DescribeActivations` (narrowed server-side to the API's instance role when the adapter knows it). */
  describeActivations(nextToken: string | undefined): Promise<Page<ActivationRecord>>;
  /** `DeleteActivation`. */
  deleteActivation(activationId: string): Promise<void>;
  /** One page of `DescribeInstanceInformation` filtered by the marker tag. */
  describeNodes(nextToken: string | undefined): Promise<Page<NodeRecord>>;
  /** `DeregisterManagedInstance`. */
  deregister(instanceId: string): Promise<void>;
}

/** Janitor configuration, read once by the adapter. */
export interface JanitorConfig {
  readonly markerTag: MarkerTag;
  /** Deregister nodes offline for longer than this; `0` = never deregister nodes (no node step at all). */
  readonly deregisterOfflineAfterSeconds: number;
  /** At most this many deregistrations per run (oldest offline first); the rest are skipped by the cap. */
  readonly maxDeregistrationsPerRun: number;
  /** Decide, report, but call no `DeleteActivation`/`DeregisterManagedInstance`. */
  readonly dryRun: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------------

/** The SSM operation an error entry is about. */
export type JanitorAction = 'DescribeActivations' | 'DeleteActivation' | 'DescribeInstanceInformation' | 'DeregisterManagedInstance';

/** One failure of a run. */
export interface JanitorError {
  /** Activation or instance id; {@link WHOLE_STEP} when a Describe call failed (the whole step was given up). */
  readonly id: string;
  readonly action: JanitorAction;
  /** The error's `name` (never its message). */
  readonly errorName: string;
}

/** The `id` of an error entry for a failed Describe call. */
export const WHOLE_STEP = '*';

/** `DeleteActivation` errors meaning the activation is already gone (deleted by an overlapping run or by hand). */
export const ACTIVATION_GONE_ERRORS: ReadonlySet<string> = new Set(['InvalidActivation', 'InvalidActivationId']);
/** `DeregisterManagedInstance` errors meaning the node is already gone. */
export const NODE_GONE_ERRORS: ReadonlySet<string> = new Set(['InvalidInstanceId']);
/** Name of the error a call throws when the adapter aborts it because the deadline came (the SDK's `AbortError`). */
export const ABORT_ERROR = 'AbortError';
/** The error of a Describe call whose `NextToken` SSM no longer accepts (the list changed while we paged through it). */
export const STALE_TOKEN_ERROR = 'InvalidNextToken';
/** Times a listing starts over from its first page on {@link STALE_TOKEN_ERROR} before its step is given up. */
export const LISTING_RESTARTS = 2;
/** The `errorName` of a step given up because SSM returned a `NextToken` it had already returned (a listing loop). */
export const REPEATED_TOKEN_ERROR = 'RepeatedNextToken';


// ---------------------------------------------------------------------------------------------------------------
// Decisions
// ---------------------------------------------------------------------------------------------------------------

/** A node chosen for deregistration (or skipped by the cap), with what the audit log needs. */
export interface NodeCandidate {
  readonly instanceId: string;
  readonly name?: string;
  readonly lastPing: Date;
}

/** What a run will do with the nodes it found. */
export interface NodePlan {
  /** Offline past the threshold, oldest first, at most `maxDeregistrationsPerRun`. */
  readonly nodesToDeregister: readonly NodeCandidate[];
  /** Offline past the threshold but beyond the cap, oldest first (left for a later run). */
  readonly nodesSkippedByCap: readonly NodeCandidate[];
}

/** Whether the activation carries the marker tag with our value. */
export function isOurs(activation: ActivationRecord, marker: MarkerTag): boolean {
  return (activation.Tags ?? []).some((tag) => tag.Key === marker.key && tag.Value === marker.value);
}

/** Whether the activation can no longer register anything: `Expired`, or `RegistrationsCount >= RegistrationLimit`. */
export function isSpent(activation: ActivationRecord): boolean {
  if (activation.Expired === true) return true;
  const { RegistrationsCount: count, RegistrationLimit: limit } = activation;
  return typeof count === 'number' && typeof limit === 'number' && count >= limit;
}

/** Ids of our spent activations (of one page), in listing order, without duplicates. Never anyone else's. */
export function selectActivations(activations: readonly ActivationRecord[], marker: MarkerTag): string[] {
  const ids = new Set<string>();
  for (const activation of activations) {
    if (activation.ActivationId && isOurs(activation, marker) && isSpent(activation)) ids.add(activation.ActivationId);
  }
  return [...ids];
}

/**
 * The node as a candidate for deregistration, or `undefined`: it qualifies when its id starts with `mi-`, it is not
 * `Online`, and its `LastPingDateTime` is strictly before `cutoff` (a node without a last ping time has an unknown age
 * and is left alone).
 */
export function nodeCandidate(node: NodeRecord, cutoff: number): NodeCandidate | undefined {
  const id = node.InstanceId;
  const lastPing = node.LastPingDateTime;
  if (!isHybridNodeId(id) || isOnline(node)) return undefined;
  if (!(lastPing instanceof Date) || Number.isNaN(lastPing.getTime()) || lastPing.getTime() >= cutoff) return undefined;
  return { instanceId: id, name: node.Name, lastPing };
}

/** Candidates oldest first (ties by id), split at the cap. */
export function capCandidates(
  candidates: Iterable<NodeCandidate>,
  maxDeregistrationsPerRun: number,
): NodePlan {
  const ordered = [...candidates].sort(
    (a, b) => a.lastPing.getTime() - b.lastPing.getTime() || (a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0),
  );
  return { nodesToDeregister: ordered.slice(0, maxDeregistrationsPerRun), nodesSkippedByCap: ordered.slice(maxDeregistrationsPerRun) };
}

/** The cutoff of {@link nodeCandidate}: `now − threshold`, epoch milliseconds. */
export const offlineCutoff = (now: Date, deregisterOfflineAfterSeconds: number): number =>
  now.getTime() - deregisterOfflineAfterSeconds * 1000;

/**
 * Splits this API's nodes into the ones to deregister now and the ones the cap leaves for later (see
 * {@link nodeCandidate}); oldest first, ties by id, each node once. A threshold of `0` selects nothing.
 */
export function selectNodes(
  nodes: readonly NodeRecord[],
  config: Pick<JanitorConfig, 'deregisterOfflineAfterSeconds' | 'maxDeregistrationsPerRun'>,
  now: Date,
): NodePlan {
  if (config.deregisterOfflineAfterSeconds <= 0) return { nodesToDeregister: [], nodesSkippedByCap: [] };
  const cutoff = offlineCutoff(now, config.deregisterOfflineAfterSeconds);
  const byId = new Map<string, NodeCandidate>();
  for (const node of nodes) {
    const candidate = nodeCandidate(node, cutoff);
    if (candidate && !byId.has(candidate.instanceId)) byId.set(candidate.instanceId, candidate);
  }
  return capCandidates(byId.values(), config.maxDeregistrationsPerRun);
}

// ---------------------------------------------------------------------------------------------------------------
// Run
// ---------------------------------------------------------------------------------------------------------------

/** What a run did (or, in a dry run, would have done). The handler returns it. */
export interface JanitorSummary {
  readonly dryRun: boolean;
  /** Deleted, or already gone (in a dry run: would be deleted). */
  readonly activationsDeleted: readonly string[];
  /** Deregistered, or already gone (in a dry run: would be deregistered). */
  readonly nodesDeregistered: readonly string[];
  /** Would qualify but the cap leaves them for a later run. */
  readonly nodesSkippedByCap: readonly string[];
  readonly errors: readonly JanitorError[];
  /** Activations and nodes chosen but not touched because the deadline came (left for a later run). */
  readonly deferred: number;
  /** The deadline came before the run was done: it started no more SSM calls and aborted the one in flight. */
  readonly timedOut: boolean;
  /** Start of the run (the `now` passed in), epoch milliseconds. */
  readonly startedAt: number;
  readonly durationMs: number;
}

/** A run's summary plus the details of each (would-be) deregistration, for the audit log. */
export interface JanitorRun {
  readonly summary: JanitorSummary;
  /** The nodes counted in `summary.nodesDeregistered`, in the same order. */
  readonly deregistered: readonly NodeCandidate[];
}

/** Milliseconds since some fixed point (e.g. `Date.now`); only differences are used. */
export type Clock = () => number;

/** Whether the run's deadline is near: once it answers `true`, the run starts no more SSM calls. */
export type ShouldStop = () => boolean;

/**
 * Time kept in hand before the function's timeout. Once less remains the run starts no more SSM calls and the adapter
 * aborts the ones in flight (the SDK's retries included), so the summary is always logged before the timeout.
 */
export const STOP_MARGIN_MS = 20_000;

/** A {@link ShouldStop} that fires once less than `marginMs` remain (e.g. `context.getRemainingTimeInMillis`). */
export function stopBefore(remainingMs: () => number, marginMs: number = STOP_MARGIN_MS): ShouldStop {
  return () => remainingMs() < marginMs;
}

/** Errors, deferred items and the deadline of one run. */
class RunState {
  public readonly errors: JanitorError[] = [];
  public deferred = 0;
  public timedOut = false;

  constructor(private readonly shouldStop: ShouldStop) {}

  /** Asked before each SSM call: whether the deadline has come; once it has, it stays. */
  public deadlineNear(): boolean {
    if (!this.timedOut && this.shouldStop()) this.timedOut = true;
    return this.timedOut;
  }

  /** Whether a failed call was cut short by the deadline (aborted by the adapter), not failed on its own. */
  public cutShort(err: unknown): boolean {
    return errorNameOf(err) === ABORT_ERROR && this.deadlineNear();
  }
}

/** How a listing ended, as the steps see it. */
type ListingEnd = 'done' | 'stopped' | 'failed';

/**
 * Pages through a Describe call with the shared pager and hands each page to `onPage` before asking for the next one
 * (nothing is accumulated here). Asks the deadline before each page; starts over from the first page when SSM refuses
 * a `NextToken` (up to {@link LISTING_RESTARTS} times); records any other failure, and a `NextToken` SSM returned
 * twice, as a whole-step error. `onPage` answers `false` to stop the listing.
 */
async function listPages<T>(
  state: RunState,
  action: JanitorAction,
  fetchPage: FetchPage<T>,
  onPage: (items: readonly T[]) => Promise<boolean>,
): Promise<ListingEnd> {
  const listing = await forEachPage(fetchPage, onPage, {
    deadlineNear: () => state.deadlineNear(),
    cutShort: (err) => state.cutShort(err),
    restartOn: (err) => errorNameOf(err) === STALE_TOKEN_ERROR,
    maxRestarts: LISTING_RESTARTS,
  });
  switch (listing.end) {
    case 'done':
      return 'done';
    case 'deadline':
    case 'stopped':
      return 'stopped';
    case 'failed':
      state.errors.push({ id: WHOLE_STEP, action, errorName: errorNameOf(listing.error) });
      return 'failed';
    case 'repeated-token':
    case 'max-pages':
      state.errors.push({ id: WHOLE_STEP, action, errorName: REPEATED_TOKEN_ERROR });
      return 'failed';
  }
}

/**
 * Step 1, page by page: deletes our spent activations of each page before asking for the next. A pass that deleted
 * anything is followed by another one: SSM does not document whether a `NextToken` still points at the right place
 * once items before it are gone, and a positional token would skip as many items as were deleted. Each activation is
 * acted on once per run (an item that failed is not retried by a later pass).
 */
async function cleanActivations(port: JanitorPort, config: JanitorConfig, state: RunState): Promise<string[]> {
  const deleted: string[] = [];
  const handled = new Set<string>();
  for (;;) {
    let deletedThisPass = 0;
    const end = await listPages(state, 'DescribeActivations', (token) => port.describeActivations(token), async (items) => {
      const chosen = selectActivations(items, config.markerTag).filter((id) => !handled.has(id));
      for (const [index, id] of chosen.entries()) {
        handled.add(id);
        if (config.dryRun) {
          deleted.push(id);
          continue;
        }
        if (state.deadlineNear()) {
          state.deferred += chosen.length - index;
          return false;
        }
        try {
          await port.deleteActivation(id);
          deleted.push(id);
          deletedThisPass += 1;
        } catch (err) {
          if (state.cutShort(err)) {
            state.deferred += chosen.length - index;
            return false;
          }
          const errorName = errorNameOf(err);
          if (ACTIVATION_GONE_ERRORS.has(errorName)) {
            deleted.push(id);
            deletedThisPass += 1;
          } else {
            state.errors.push({ id, action: 'DeleteActivation', errorName });
          }
        }
      }
      return true;
    });
    if (end !== 'done' || deletedThisPass === 0) return deleted;
  }
}

/**
 * Step 2: lists this API's nodes page by page, keeping only the candidates (not the listing), then deregisters the
 * oldest up to the cap (oldest-first needs the whole listing). A listing cut short by the deadline deregisters
 * nothing: the candidates found so far, up to the cap, count as deferred.
 */
async function cleanNodes(
  port: JanitorPort,
  config: JanitorConfig,
  now: Date,
  state: RunState,
): Promise<{ readonly deregistered: NodeCandidate[]; readonly skipped: readonly NodeCandidate[] }> {
  const deregistered: NodeCandidate[] = [];
  const cutoff = offlineCutoff(now, config.deregisterOfflineAfterSeconds);
  const found = new Map<string, NodeCandidate>();
  const end = await listPages(state, 'DescribeInstanceInformation', (token) => port.describeNodes(token), async (items) => {
    for (const node of items) {
      const candidate = nodeCandidate(node, cutoff);
      if (candidate && !found.has(candidate.instanceId)) found.set(candidate.instanceId, candidate);
    }
    return true;
  });
  const plan = capCandidates(found.values(), config.maxDeregistrationsPerRun);
  if (end === 'failed') return { deregistered, skipped: [] };
  if (end === 'stopped') {
    state.deferred += plan.nodesToDeregister.length;
    return { deregistered, skipped: [] };
  }
  for (const [index, node] of plan.nodesToDeregister.entries()) {
    if (config.dryRun) {
      deregistered.push(node);
      continue;
    }
    if (state.deadlineNear()) {
      state.deferred += plan.nodesToDeregister.length - index;
      break;
    }
    try {
      await port.deregister(node.instanceId);
      deregistered.push(node);
    } catch (err) {
      if (state.cutShort(err)) {
        state.deferred += plan.nodesToDeregister.length - index;
        break;
      }
      const errorName = errorNameOf(err);
      if (NODE_GONE_ERRORS.has(errorName)) deregistered.push(node);
      else state.errors.push({ id: node.instanceId, action: 'DeregisterManagedInstance', errorName });
    }
  }
  return { deregistered, skipped: plan.nodesSkippedByCap };
}

/**
 * Runs the janitor: (1) pages through the activations and deletes our spent ones page by page; (2) when the threshold
 * is above `0`, pages through this API's nodes and deregisters the long-offline ones, oldest first, up to the cap.
 * Dry run: decides, calls nothing that changes anything. "Already gone" errors count as done; any other failure of an
 * item is recorded and the run goes on; a failed listing ends its step and is recorded. Before every SSM call (each
 * page included) it asks `shouldStop`: once that answers `true` the run starts nothing more, counts the chosen items it
 * did not touch as `deferred` and returns with `timedOut`; a call the adapter aborted for the deadline
 * ({@link ABORT_ERROR}) counts the same way, not as an error. Never throws for an SSM failure.
 */
export async function runJanitor(
  port: JanitorPort,
  config: JanitorConfig,
  now: Date,
  clock: Clock = () => now.getTime(),
  shouldStop: ShouldStop = () => false,
): Promise<JanitorRun> {
  const started = clock();
  const state = new RunState(shouldStop);
  const activationsDeleted = await cleanActivations(port, config, state);
  const nodes = config.deregisterOfflineAfterSeconds > 0 ? await cleanNodes(port, config, now, state) : { deregistered: [], skipped: [] };
  return {
    summary: {
      dryRun: config.dryRun,
      activationsDeleted,
      nodesDeregistered: nodes.deregistered.map((n) => n.instanceId),
      nodesSkippedByCap: nodes.skipped.map((n) => n.instanceId),
      errors: state.errors,
      deferred: state.deferred,
      timedOut: state.timedOut,
      startedAt: now.getTime(),
      durationMs: Math.max(0, clock() - started),
    },
    deregistered: nodes.deregistered,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------------------------

/** Message of the run summary log line. */
export const RUN_MESSAGE = 'janitor run';
/** Message of the per-node audit log line. */
export const AUDIT_MESSAGE = 'node deregistered';
/** The janitor's metrics, all `Count`, dimension `MarkerTagValue`. */
export const METRIC_NAMES = ['ActivationsDeleted', 'NodesDeregistered', 'NodesSkippedByCap', 'Errors', 'Deferred'] as const;

/**
 * The run summary as ONE CloudWatch embedded-metric-format object (`_aws`, the dimension and metrics top-level), then
 * the summary's own fields (all but `startedAt`, which is `_aws.Timestamp`).
 */
export interface EmfLogLine extends Omit<JanitorSummary, 'startedAt'> {
  readonly message: typeof RUN_MESSAGE;
  readonly _aws: {
    readonly Timestamp: number;
    readonly CloudWatchMetrics: readonly [{
      readonly Namespace: string;
      readonly Dimensions: readonly [readonly ['MarkerTagValue']];
      readonly Metrics: ReadonlyArray<{ readonly Name: (typeof METRIC_NAMES)[number]; readonly Unit: 'Count' }>;
    }];
  };
  readonly MarkerTagValue: string;
  readonly ActivationsDeleted: number;
  readonly NodesDeregistered: number;
  readonly NodesSkippedByCap: number;
  readonly Errors: number;
  readonly Deferred: number;
}

/**
 * Builds the run's embedded-metric-format log object. In a dry run the metrics count what would have been done
 * (the same as the lists; `dryRun` says which).
 */
export function toEmfLogLine(summary: JanitorSummary, namespace: string, markerTagValue: string): EmfLogLine {
  const { startedAt, ...fields } = summary;
  return {
    message: RUN_MESSAGE,
    _aws: {
      Timestamp: startedAt,
      CloudWatchMetrics: [{
        Namespace: namespace,
        Dimensions: [['MarkerTagValue']],
        Metrics: METRIC_NAMES.map((Name) => ({ Name, Unit: 'Count' as const })),
      }],
    },
    MarkerTagValue: markerTagValue,
    ActivationsDeleted: summary.activationsDeleted.length,
    NodesDeregistered: summary.nodesDeregistered.length,
    NodesSkippedByCap: summary.nodesSkippedByCap.length,
    Errors: summary.errors.length,
    Deferred: summary.deferred,
    ...fields,
  };
}

/** The audit fields of one (would-be) deregistration (`message: "node deregistered"`). */
export function auditFields(node: NodeCandidate, dryRun: boolean): {
  readonly caller: 'janitor';
  readonly instanceId: string;
  readonly name: string | undefined;
  readonly lastPing: string;
  readonly dryRun: boolean;
} {
  return { caller: 'janitor', instanceId: node.instanceId, name: node.name, lastPing: node.lastPing.toISOString(), dryRun };
}
