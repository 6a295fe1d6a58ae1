/**
 * Adapter for the janitor handler (docs/handler-contract.md, "janitor"): reads the environment once, owns the SSM
 * client and the logger, gives the pure core a port over paginated SSM calls and a deadline from the Lambda context,
 * and logs the run summary as one CloudWatch embedded-metric-format line plus one audit line per deregistration.
 */
import {
  DeleteActivationCommand,
  DeregisterManagedInstanceCommand,
  DescribeActivationsCommand,
  DescribeInstanceInformationCommand,
  SSMClient,
  type Activation,
  type InstanceInformation,
} from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { boolEnv, enumEnv, intEnv, requireEnv } from '../shared/env';
import { createLogger, LOG_LEVELS } from '../shared/logger';
import { DESCRIBE_PAGE_SIZE, markerFilters } from '../shared/nodes';
import { ssmClientConfig } from '../shared/ssm-client';
import {
  AUDIT_MESSAGE,
  auditFields,
  runJanitor,
  stopBefore,
  toEmfLogLine,
  type JanitorConfig,
  type JanitorPort,
  type JanitorSummary,
} from './janitor';

// ---- module scope: runs once per cold start; a bad variable fails here, naming it ----

const logLevel = enumEnv('LOG_LEVEL', LOG_LEVELS, 'INFO');
// The janitor only writes records: the run line carries the metrics (the errors alarm depends on them) and the audit
// lines are the trail of what was deregistered, so both are written at every LOG_LEVEL except SILENT.
const logger = createLogger(logLevel === 'SILENT' ? 'SILENT' : 'INFO');

const config: JanitorConfig = {
  markerTag: { key: requireEnv('MARKER_TAG_KEY'), value: requireEnv('MARKER_TAG_VALUE') },
  deregisterOfflineAfterSeconds: intEnv('DEREGISTER_OFFLINE_AFTER_SECONDS', { min: 0, max: Number.MAX_SAFE_INTEGER }),
  maxDeregistrationsPerRun: intEnv('MAX_DEREGISTRATIONS_PER_RUN', { min: 1, max: 1000 }),
  dryRun: boolEnv('DRY_RUN'),
};
const metricsNamespace = requireEnv('METRICS_NAMESPACE');

// More attempts than the API handlers' default: nobody waits on a scheduled run, and throttling is left to the SDK.
const ssm = new SSMClient(ssmClientConfig({ maxAttempts: 8, requestTimeoutMs: 3000 }));

/** Page size for `DescribeActivations` (its maximum, as `DESCRIBE_PAGE_SIZE` is `DescribeInstanceInformation`'s). */
const ACTIVATIONS_PAGE_SIZE = 50;
/** Times a listing starts over when SSM refuses its `NextToken` (the list changed under it, e.g. an overlapping run). */
const LISTING_RESTARTS = 2;

const nodeFilters = markerFilters(config.markerTag);

/**
 * Every item of a paginated Describe call. When SSM answers `InvalidNextToken` (a token gone stale because the list
 * changed while we paged through it), the listing starts over from the first page, up to {@link LISTING_RESTARTS}
 * times; any other error (after the SDK's retries) is thrown.
 */
async function listAll<T>(fetchPage: (nextToken: string | undefined) => Promise<{ items?: T[]; nextToken?: string }>): Promise<T[]> {
  for (let restarts = 0; ; restarts++) {
    const all: T[] = [];
    let nextToken: string | undefined;
    try {
      do {
        const page = await fetchPage(nextToken);
        all.push(...(page.items ?? []));
        nextToken = page.nextToken || undefined;
      } while (nextToken);
      return all;
    } catch (err) {
      if (restarts >= LISTING_RESTARTS || (err as { name?: unknown } | null)?.name !== 'InvalidNextToken') throw err;
    }
  }
}

const port: JanitorPort = {
  listActivations: () =>
    listAll<Activation>(async (NextToken) => {
      const page = await ssm.send(new DescribeActivationsCommand({ MaxResults: ACTIVATIONS_PAGE_SIZE, NextToken }));
      return { items: page.ActivationList, nextToken: page.NextToken };
    }),
  async deleteActivation(ActivationId) {
    await ssm.send(new DeleteActivationCommand({ ActivationId }));
  },
  listNodes: () =>
    listAll<InstanceInformation>(async (NextToken) => {
      const page = await ssm.send(new DescribeInstanceInformationCommand({ Filters: nodeFilters, MaxResults: DESCRIBE_PAGE_SIZE, NextToken }));
      return { items: page.InstanceInformationList, nextToken: page.NextToken };
    }),
  async deregister(InstanceId) {
    await ssm.send(new DeregisterManagedInstanceCommand({ InstanceId }));
  },
};

// ---- per run ----

/**
 * Lambda entry point for the EventBridge schedule (the event itself is not read). Returns the run summary. Starts no
 * more SSM calls once less than `STOP_MARGIN_MS` of the invocation's time remain, so the summary is always logged.
 */
export async function handler(_event: unknown, context: Context): Promise<JanitorSummary> {
  const requestId = context.awsRequestId;
  const shouldStop = stopBefore(() => context.getRemainingTimeInMillis());
  const { summary, deregistered } = await runJanitor(port, config, new Date(), Date.now, shouldStop);
  for (const node of deregistered) {
    logger.info(AUDIT_MESSAGE, { requestId, ...auditFields(node, summary.dryRun) });
  }
  const { message, ...metrics } = toEmfLogLine(summary, metricsNamespace, config.markerTag.value);
  const fields = { requestId, ...metrics };
  if (summary.errors.length > 0 || summary.timedOut) logger.warn(message, fields);
  else logger.info(message, fields);
  return summary;
}
