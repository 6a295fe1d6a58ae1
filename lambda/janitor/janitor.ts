/**
 * Pure core of the janitor handler (docs/handler-contract.md, "janitor").
 *
 * Decides which of this API's activations to delete and which of its nodes to deregister, carries the decisions out
 * through a {@link JanitorPort} (one item's failure never stops the others), and shapes the run summary and its
 * CloudWatch embedded-metric-format log line. It has no SDK import, reads no environment and does not log: the adapter
 * (`index.ts`) passes in the configuration, the current time, a clock for the duration, a deadline and the port.
 */
import { isHybridNodeId, isOnline, type NodeInfo } from '../shared/nodes';
import { errorNameOf } from '../shared/ssm-errors';
import type { MarkerTag } from '../shared/tags';

export type { MarkerTag };

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
 * The side effects. Each call either succeeds or throws the SDK's error (after the SDK's own retries).
 */
export interface JanitorPort {
  /** Every activation in the account and region (all pages of `DescribeActivations`). */
  listActivations(): Promise<readonly ActivationRecord[]>;
  /** `DeleteActivation`. */
  deleteActivation(activationId: string): Promise<void>;
  /** Every node of this API (all pages of `DescribeInstanceInformation` filtered by the marker tag). */
  listNodes(): Promise<readonly NodeRecord[]>;
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


// ---------------------------------------------------------------------------------------------------------------
// Decisions
// ---------------------------------------------------------------------------------------------------------------

/** A node chosen for deregistration (or skipped by the cap), with what the audit log needs. */
export interface NodeCandidate {
  readonly instanceId: string;
  readonly name?: string;
  readonly lastPing: Date;
}

/** What a run will do. */
export interface CleanupPlan {
  /** Ours and expired or fully used, in listing order, without duplicates. */
  readonly activationsToDelete: readonly string[];
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

/** Ids of our spent activations, in listing order, without duplicates. Never anyone else's. */
export function selectActivations(activations: readonly ActivationRecord[], marker: MarkerTag): string[] {
  const ids = new Set<string>();
  for (const activation of activations) {
    if (activation.ActivationId && isOurs(activation, marker) && isSpent(activation)) ids.add(activation.ActivationId);
  }
  return [...ids];
}

/**
 * Splits this API's nodes into the ones to deregister now and the ones the cap leaves for later. A node qualifies when
 * its id starts with `mi-`, it is not `Online`, and its `LastPingDateTime` is strictly before `now − threshold`
 * (a node without a last ping time has an unknown age and is left alone). Oldest first; ties by id.
 * A threshold of `0` selects nothing.
 */
export function selectNodes(
  nodes: readonly NodeRecord[],
  config: Pick<JanitorConfig, 'deregisterOfflineAfterSeconds' | 'maxDeregistrationsPerRun'>,
  now: Date,
): Pick<CleanupPlan, 'nodesToDeregister' | 'nodesSkippedByCap'> {
  if (config.deregisterOfflineAfterSeconds <= 0) return { nodesToDeregister: [], nodesSkippedByCap: [] };
  const cutoff = now.getTime() - config.deregisterOfflineAfterSeconds * 1000;
  const byId = new Map<string, NodeCandidate>();
  for (const node of nodes) {
    const id = node.InstanceId;
    const lastPing = node.LastPingDateTime;
    if (!isHybridNodeId(id) || isOnline(node) || byId.has(id)) continue;
    if (!(lastPing instanceof Date) || Number.isNaN(lastPing.getTime()) || lastPing.getTime() >= cutoff) continue;
    byId.set(id, { instanceId: id, name: node.Name, lastPing });
  }
  const ordered = [...byId.values()].sort(
    (a, b) => a.lastPing.getTime() - b.lastPing.getTime() || (a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0),
  );
  return {
    nodesToDeregister: ordered.slice(0, config.maxDeregistrationsPerRun),
    nodesSkippedByCap: ordered.slice(config.maxDeregistrationsPerRun),
  };
}

/** The whole decision for one run, from the two listings (`nodes` is ignored when the threshold is `0`). */
export function planCleanup(
  activations: readonly ActivationRecord[],
  nodes: readonly NodeRecord[],
  config: JanitorConfig,
  now: Date,
): CleanupPlan {
  return { activationsToDelete: selectActivations(activations, config.markerTag), ...selectNodes(nodes, config, now) };
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
  /** The deadline came before the run was done: it started no more Delete/Deregister calls (nor the node listing). */
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
 * Time kept in hand before the function's timeout: enough for the SSM call already under way (the SDK's retries
 * included) to end and for the summary to be logged, so a run is never killed before it reports.
 */
export const STOP_MARGIN_MS = 20_000;

/** A {@link ShouldStop} that fires once less than `marginMs` remain (e.g. `context.getRemainingTimeInMillis`). */
export function stopBefore(remainingMs: () => number, marginMs: number = STOP_MARGIN_MS): ShouldStop {
  return () => remainingMs() < marginMs;
}

/**
 * Runs the janitor: (1) lists activations and deletes our spent ones; (2) when the threshold is above `0`, lists this
 * API's nodes and deregisters the long-offline ones, oldest first, up to the cap. Dry run: decides, calls nothing that
 * changes anything. "Already gone" errors count as done; any other failure of an item is recorded and the run goes on;
 * a failed listing ends its step and is recorded. Before each Delete/Deregister and before the node listing it asks
 * `shouldStop`: once that answers `true` the run starts nothing more, counts the chosen items it did not touch as
 * `deferred` and returns with `timedOut`. Never throws for an SSM failure.
 */
export async function runJanitor(
  port: JanitorPort,
  config: JanitorConfig,
  now: Date,
  clock: Clock = () => now.getTime(),
  shouldStop: ShouldStop = () => false,
): Promise<JanitorRun> {
  const started = clock();
  const errors: JanitorError[] = [];
  const activationsDeleted: string[] = [];
  const deregistered: NodeCandidate[] = [];
  let skipped: readonly NodeCandidate[] = [];
  let timedOut = false;
  let deferred = 0;
  /** Whether the deadline has come; once it has, it stays. */
  const deadlineNear = (): boolean => {
    if (!timedOut && shouldStop()) timedOut = true;
    return timedOut;
  };

  // Step 1: activations.
  let activations: readonly ActivationRecord[] | undefined;
  try {
    activations = await port.listActivations();
  } catch (err) {
    errors.push({ id: WHOLE_STEP, action: 'DescribeActivations', errorName: errorNameOf(err) });
  }
  const toDelete = activations ? selectActivations(activations, config.markerTag) : [];
  for (const [index, id] of toDelete.entries()) {
    if (config.dryRun) {
      activationsDeleted.push(id);
      continue;
    }
    if (deadlineNear()) {
      deferred += toDelete.length - index;
      break;
    }
    try {
      await port.deleteActivation(id);
      activationsDeleted.push(id);
    } catch (err) {
      const errorName = errorNameOf(err);
      if (ACTIVATION_GONE_ERRORS.has(errorName)) activationsDeleted.push(id);
      else errors.push({ id, action: 'DeleteActivation', errorName });
    }
  }

  // Step 2: nodes.
  if (config.deregisterOfflineAfterSeconds > 0 && !deadlineNear()) {
    let nodes: readonly NodeRecord[] | undefined;
    try {
      nodes = await port.listNodes();
    } catch (err) {
      errors.push({ id: WHOLE_STEP, action: 'DescribeInstanceInformation', errorName: errorNameOf(err) });
    }
    if (nodes) {
      const plan = selectNodes(nodes, config, now);
      skipped = plan.nodesSkippedByCap;
      for (const [index, node] of plan.nodesToDeregister.entries()) {
        if (config.dryRun) {
          deregistered.push(node);
          continue;
        }
        if (deadlineNear()) {
          deferred += plan.nodesToDeregister.length - index;
          break;
        }
        try {
          await port.deregister(node.instanceId);
          deregistered.push(node);
        } catch (err) {
          const errorName = errorNameOf(err);
          if (NODE_GONE_ERRORS.has(errorName)) deregistered.push(node);
          else errors.push({ id: node.instanceId, action: 'DeregisterManagedInstance', errorName });
        }
      }
    }
  }

  return {
    summary: {
      dryRun: config.dryRun,
      activationsDeleted,
      nodesDeregistered: deregistered.map((n) => n.instanceId),
      nodesSkippedByCap: skipped.map((n) => n.instanceId),
      errors,
      deferred,
      timedOut,
      startedAt: now.getTime(),
      durationMs: Math.max(0, clock() - started),
    },
    deregistered,
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
