/**
 * Adapter for the janitor handler (docs/handler-contract.md, "janitor"): reads the environment once, owns the SSM
 * client and the logger, gives the pure core a port over single SSM calls (one page each) and a deadline from the Lambda
 * context (which also aborts the call in flight), and logs the run summary as one CloudWatch embedded-metric-format
 * line plus one audit line per deregistration.
 */
import {
  DeleteActivationCommand,
  DeregisterManagedInstanceCommand,
  DescribeActivationsCommand,
  DescribeInstanceInformationCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { boolEnv, enumEnv, intEnv, optionalEnv, requireEnv } from '../shared/env';
import { createLogger, LOG_LEVELS } from '../shared/logger';
import { DESCRIBE_PAGE_SIZE, markerFilters } from '../shared/nodes';
import { ssmClientConfig } from '../shared/ssm-client';
import {
  AUDIT_MESSAGE,
  auditFields,
  runJanitor,
  STOP_MARGIN_MS,
  stopBefore,
  toEmfLogLine,
  type JanitorConfig,
  type JanitorPort,
  type JanitorRun,
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

/**
 * The instance role the API's activations carry (`IamRole`): when set, `DescribeActivations` asks SSM for those
 * activations only, instead of every activation in the account and Region.
 */
const instanceRoleName = optionalEnv('INSTANCE_ROLE_NAME');

// More attempts than the API handlers' default: nobody waits on a scheduled run, and throttling is left to the SDK.
const ssm = new SSMClient(ssmClientConfig({ maxAttempts: 8, requestTimeoutMs: 3000 }));

/** Page size for `DescribeActivations` (its maximum, as `DESCRIBE_PAGE_SIZE` is `DescribeInstanceInformation`'s). */
const ACTIVATIONS_PAGE_SIZE = 50;

const activationFilters = instanceRoleName === undefined ? undefined : [{ FilterKey: 'IamRole' as const, FilterValues: [instanceRoleName] }];
const nodeFilters = markerFilters(config.markerTag);

/** The port of one run: every call carries the run's abort signal, so the deadline ends a call in flight. */
function portFor(abortSignal: AbortSignal): JanitorPort {
  const options = { abortSignal };
  return {
    async describeActivations(NextToken) {
      const page = await ssm.send(new DescribeActivationsCommand({ Filters: activationFilters, MaxResults: ACTIVATIONS_PAGE_SIZE, NextToken }), options);
      return { items: page.ActivationList, nextToken: page.NextToken };
    },
    async deleteActivation(ActivationId) {
      await ssm.send(new DeleteActivationCommand({ ActivationId }), options);
    },
    async describeNodes(NextToken) {
      const page = await ssm.send(new DescribeInstanceInformationCommand({ Filters: nodeFilters, MaxResults: DESCRIBE_PAGE_SIZE, NextToken }), options);
      return { items: page.InstanceInformationList, nextToken: page.NextToken };
    },
    async deregister(InstanceId) {
      await ssm.send(new DeregisterManagedInstanceCommand({ InstanceId }), options);
    },
  };
}

// ---- per run ----

/**
 * Lambda entry point for the EventBridge schedule (the event itself is not read). Returns the run summary. Once less
 * than `STOP_MARGIN_MS` of the invocation's time remain, starts no more SSM calls and aborts the one in flight, so the
 * summary is always logged.
 */
export async function handler(_event: unknown, context: Context): Promise<JanitorSummary> {
  const requestId = context.awsRequestId;
  const remainingMs = () => context.getRemainingTimeInMillis();
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), Math.max(0, remainingMs() - STOP_MARGIN_MS));
  const nearDeadline = stopBefore(remainingMs);
  let run: JanitorRun;
  try {
    run = await runJanitor(portFor(deadline.signal), config, new Date(), Date.now, () => deadline.signal.aborted || nearDeadline());
  } finally {
    clearTimeout(timer);
  }
  const { summary, deregistered } = run;
  for (const node of deregistered) {
    logger.info(AUDIT_MESSAGE, { requestId, ...auditFields(node, summary.dryRun) });
  }
  const { message, ...metrics } = toEmfLogLine(summary, metricsNamespace, config.markerTag.value);
  const fields = { requestId, ...metrics };
  if (summary.errors.length > 0 || summary.timedOut) logger.warn(message, fields);
  else logger.info(message, fields);
  return summary;
}
