/**
 * Adapter of the compliance-metrics function (the risk dashboard's data source): reads the environment once, owns the
 * SSM client and the logger, gives the pure core a port over single SSM calls and a deadline from the Lambda context
 * (which also aborts the call in flight), then writes the EMF documents, the worst-node lines and a run line.
 */
import {
  DescribeInstanceInformationCommand,
  ListResourceComplianceSummariesCommand,
  ListTagsForResourceCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { enumEnv, intEnv, jsonEnv, requireEnv } from '../shared/env';
import { createLogger, LOG_LEVELS } from '../shared/logger';
import { DESCRIBE_PAGE_SIZE } from '../shared/nodes';
import { ssmClientConfig } from '../shared/ssm-client';
import { isValidTagKey, type SdkTag } from '../shared/tags';
import {
  fleetDocuments,
  metricCount,
  NODE_MESSAGE,
  readFleet,
  RUN_MESSAGE,
  runDocument,
  worstNodes,
  type ComplianceMetricsConfig,
  type ComplianceMetricsPort,
} from './compliance-metrics';

// ---- module scope: runs once per cold start; a bad variable fails here, naming it ----

const logLevel = enumEnv('LOG_LEVEL', LOG_LEVELS, 'INFO');
// The metrics are log lines: they are written at every LOG_LEVEL except SILENT.
const logger = createLogger(logLevel === 'SILENT' ? 'SILENT' : 'INFO');

const stringList = (what: string) => (value: unknown): string[] => {
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string' && v.length > 0)) {
    throw new Error(`must be a JSON array of non-empty ${what}`);
  }
  return value;
};
const tagKey = (name: string): string => {
  const key = requireEnv(name);
  if (!isValidTagKey(key)) throw new Error(`Environment variable ${name} is not a valid tag key`);
  return key;
};

const config: ComplianceMetricsConfig = {
  namespace: requireEnv('METRICS_NAMESPACE'),
  patchGroupTagKey: tagKey('PATCH_GROUP_TAG_KEY'),
  modeTagKey: tagKey('MODE_TAG_KEY'),
  modeValues: jsonEnv('MODE_VALUES', stringList('tag values')),
  agentComplianceTypes: jsonEnv('AGENT_COMPLIANCE_TYPES', stringList('compliance types')),
  maxPatchGroups: intEnv('MAX_PATCH_GROUPS', { min: 1, max: 100 }),
  topNodes: intEnv('TOP_NODES', { min: 0, max: 100 }),
};

// Nobody waits on a scheduled run: more attempts than the API handlers, and the core backs off on top.
const ssm = new SSMClient(ssmClientConfig({ maxAttempts: 6, requestTimeoutMs: 5000 }));

/** `ListResourceComplianceSummaries` page size (its maximum, SSM-API). */
const SUMMARIES_PAGE_SIZE = 50;
/** Time kept in hand before the timeout: no new calls once less remains, so the run line is always written. */
const STOP_MARGIN_MS = 20_000;

function portFor(abortSignal: AbortSignal): ComplianceMetricsPort {
  const options = { abortSignal };
  return {
    async describeNodes(NextToken) {
      const page = await ssm.send(new DescribeInstanceInformationCommand({ MaxResults: DESCRIBE_PAGE_SIZE, NextToken }), options);
      return { items: page.InstanceInformationList, nextToken: page.NextToken };
    },
    async listSummaries(NextToken) {
      const page = await ssm.send(new ListResourceComplianceSummariesCommand({ MaxResults: SUMMARIES_PAGE_SIZE, NextToken }), options);
      return { items: page.ResourceComplianceSummaryItems, nextToken: page.NextToken };
    },
    async listTags(ResourceId) {
      const page = await ssm.send(new ListTagsForResourceCommand({ ResourceType: 'ManagedInstance', ResourceId }), options);
      return (page.TagList ?? []) as SdkTag[];
    },
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}

/** What the handler returns (for tests and manual invocations). */
export interface RunOutcome {
  readonly complete: boolean;
  readonly nodes: number;
  readonly metricCount: number;
}

/**
 * Lambda entry point for the EventBridge schedule (the event is not read). Writes one EMF line per document (only when
 * every listing finished: a partial fleet would publish wrong percentages), the worst nodes, and the run line (with
 * its own EMF metrics) last.
 */
export async function handler(_event: unknown, context: Context): Promise<RunOutcome> {
  const requestId = context.awsRequestId;
  const started = Date.now();
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), Math.max(0, context.getRemainingTimeInMillis() - STOP_MARGIN_MS));
  let result;
  try {
    result = await readFleet(portFor(deadline.signal), config, () => deadline.signal.aborted || context.getRemainingTimeInMillis() < STOP_MARGIN_MS);
  } catch (err) {
    // Not an SSM failure (the core records those): a bug. Its stack helps; the message of our own code holds no secret.
    logger.error('compliance metrics run failed', { requestId, errorName: err instanceof Error ? err.name : 'Error', stack: err instanceof Error ? err.stack : String(err) });
    throw err;
  } finally {
    clearTimeout(timer);
  }
  const docs = result.complete ? fleetDocuments(result.nodes, config, started) : [];
  for (const doc of docs) logger.info('compliance metrics', { requestId, ...doc });
  const worst = result.complete ? worstNodes(result.nodes, config.topNodes) : [];
  for (const line of worst) logger.info(NODE_MESSAGE, { requestId, ...line });
  for (const e of result.errors.filter((x) => x.stack !== undefined)) {
    logger.error('unexpected error', { requestId, action: e.action, errorName: e.errorName, stack: e.stack });
  }
  const durationMs = Date.now() - started;
  const run = runDocument(result, config.namespace, started, durationMs);
  const count = metricCount([...docs, run]);
  const fields = {
    requestId, ...run, complete: result.complete, timedOut: result.timedOut, nodes: result.nodes.length,
    summaries: result.summaries, orphanSummaries: result.orphanSummaries, calls: result.calls, metricCount: count,
    errors: result.errors.map(({ action, id, errorName }) => ({ action, id, errorName })),
  };
  if (result.complete) logger.info(RUN_MESSAGE, fields);
  else logger.warn(RUN_MESSAGE, fields);
  return { complete: result.complete, nodes: result.nodes.length, metricCount: count };
}
