import type { Context } from 'aws-lambda';
import { lambdaContext } from '../support/api-gateway-event';
import { EXAMPLE_ENV } from '../support/compliance-fleet';
import { loadHandler, restoreEnv, type LoadedHandler } from '../support/load-handler';
import { captureLogLines } from '../support/log-capture';

type Handler = (typeof import('../../lambda/compliance-metrics/index'))['handler'];
type Loaded = LoadedHandler<Handler>;

function load(overrides: Readonly<Record<string, string | undefined>> = {}): Loaded {
  return loadHandler(() => require('../../lambda/compliance-metrics/index') as { handler: Handler }, {
    ...EXAMPLE_ENV, SSM_MAX_ATTEMPTS: '1', LOG_LEVEL: 'INFO', ...overrides,
  });
}

afterAll(restoreEnv);

const context = (remainingMs = 10 * 60_000): Context => ({ ...lambdaContext('req-1', { functionName: 'ComplianceMetrics' }), getRemainingTimeInMillis: () => remainingMs });
const NODE = 'mi-00000000000000001';

describe('compliance-metrics adapter', () => {
  const logs = captureLogLines();

  test('an error that is not an SDK error is logged with its stack, and the run is incomplete', async () => {
    const { handler, ssm, mock } = load();
    mock.on(ssm.DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: NODE, PingStatus: 'Online' }] });
    mock.on(ssm.ListResourceComplianceSummariesCommand).resolves({ ResourceComplianceSummaryItems: [] });
    mock.on(ssm.ListTagsForResourceCommand).rejects(new TypeError('tags went wrong'));
    await expect(handler({}, context())).resolves.toEqual({ complete: false, nodes: 1, metricCount: 5 });
    const lines = logs.parsed();
    expect(lines.find((l) => l.message === 'unexpected error')).toMatchObject({
      level: 'ERROR', requestId: 'req-1', action: 'ListTagsForResource', errorName: 'TypeError', stack: expect.stringContaining('TypeError: tags went wrong'),
    });
    expect(lines.find((l) => l.message === 'compliance metrics run')).toMatchObject({ level: 'WARN', complete: false, ScanComplete: 0 });
  });

  test('an SDK error is logged by name only: no message, no stack', async () => {
    const { handler, ssm, mock } = load();
    const denied = Object.assign(new Error('User arn:aws:sts::1:assumed-role/secret-role is not authorized'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } });
    mock.on(ssm.DescribeInstanceInformationCommand).rejects(denied);
    await handler({}, context());
    const text = logs.lines.join('\n');
    expect(text).toContain('"errorName":"AccessDeniedException"');
    expect(text).not.toContain('secret-role');
    expect(text).not.toContain('"stack"');
  });

  test('with less than 20 s left it makes no SSM call and reports an incomplete run', async () => {
    const { handler, mock } = load();
    await expect(handler({}, context(19_000))).resolves.toMatchObject({ complete: false, nodes: 0 });
    expect(mock.calls()).toHaveLength(0);
    expect(logs.parsed().find((l) => l.message === 'compliance metrics run')).toMatchObject({ timedOut: true, ScanComplete: 0 });
  });

  test('a complete run writes the EMF documents before the run line, all at INFO', async () => {
    const { handler, ssm, mock } = load();
    mock.on(ssm.DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: NODE, PingStatus: 'Online' }] });
    mock.on(ssm.ListResourceComplianceSummariesCommand).resolves({
      ResourceComplianceSummaryItems: [{ ResourceId: NODE, ResourceType: 'ManagedInstance', ComplianceType: 'Patch', Status: 'COMPLIANT' }],
    });
    mock.on(ssm.ListTagsForResourceCommand).resolves({ TagList: [{ Key: 'PatchGroup', Value: 'web' }, { Key: 'PatchMode', Value: 'enforce' }] });
    const outcome = await handler({}, context());
    const lines = logs.parsed();
    expect(outcome).toEqual({ complete: true, nodes: 1, metricCount: expect.any(Number) });
    expect(outcome.metricCount).toBeGreaterThan(20);
    expect(lines[lines.length - 1]).toMatchObject({ message: 'compliance metrics run', level: 'INFO', complete: true });
    expect(lines.find((l) => l.PatchGroup === 'web' && l.Mode === 'enforce')).toMatchObject({ CompliancePercent: 100, Nodes: 1 });
    expect(lines.every((l) => l.level === 'INFO')).toBe(true);
  });
});
