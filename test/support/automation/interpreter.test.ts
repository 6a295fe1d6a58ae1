import {
  AutomationDocument,
  AutomationStep,
  AutomationValidationError,
  AwsApiError,
  FakeAws,
  isoDurationSeconds,
  parseRunbook,
  runAutomation,
  select,
} from '.';

// The interpreter is a test double for Automation itself; these tests pin the step semantics other tests rely on.

function doc(steps: AutomationStep[], extra: Partial<AutomationDocument> = {}): AutomationDocument {
  return { schemaVersion: '0.3', mainSteps: steps, ...extra };
}

const api = (name: string, more: Partial<AutomationStep> = {}): AutomationStep => ({
  name,
  action: 'aws:executeAwsApi',
  inputs: { Service: 'ssm', Api: name },
  ...more,
});

describe('JSONPath selectors', () => {
  const response = { TagList: [{ Key: 'a', Value: '1' }, { Key: 'b', Value: '2' }], Nested: { Deep: { Key: 'c' } } };

  test('child and index', () => {
    expect(select(response, '$.TagList[1].Value')).toBe('2');
    expect(select(response, '$.TagList')).toHaveLength(2);
  });

  test('recursive descent returns every match', () => {
    expect(select(response, '$..Key')).toEqual(['a', 'b', 'c']);
  });

  test('a path that does not match is undefined', () => {
    expect(select(response, '$.TagList[5].Value')).toBeUndefined();
    expect(select(response, '$.Missing.Value')).toBeUndefined();
  });

  test('filter expressions are rejected, as Automation rejects them', () => {
    expect(() => select(response, "$.TagList[?(@.Key=='a')]")).toThrow(/unsupported selector/);
    expect(() => select(response, 'TagList')).toThrow(/must start with/);
  });
});

describe('document and parameter validation', () => {
  test('rejects a schema version other than 0.3', () => {
    expect(() => runAutomation({ ...doc([api('A')]), schemaVersion: '2.2' })).toThrow(AutomationValidationError);
  });

  test('rejects a jump to a step that does not exist, and duplicate names', () => {
    expect(() => runAutomation(doc([api('A', { nextStep: 'Nope' })]))).toThrow(/nextStep names an unknown step: Nope/);
    expect(() => runAutomation(doc([api('A', { onFailure: 'step:Nope' })]))).toThrow(/onFailure names an unknown step/);
    expect(() => runAutomation(doc([api('A'), api('A')]))).toThrow(/duplicate step name: A/);
    expect(() => runAutomation(doc([{ name: 'A', action: 'aws:approve' }]))).toThrow(/not supported/);
  });

  test('checks required parameters, types, allowed values and patterns', () => {
    const d = doc([api('A')], {
      parameters: {
        Id: { type: 'String', allowedPattern: '^mi-[0-9a-f]{17}$' },
        Mode: { type: 'String', default: 'report', allowedValues: ['report', 'enforce'] },
        Count: { type: 'Integer', default: 1 },
      },
    });
    expect(() => runAutomation(d)).toThrow(/parameter Id is required/);
    expect(() => runAutomation(d, { parameters: { Id: 'i-1' } })).toThrow(/parameter Id must match/);
    expect(() => runAutomation(d, { parameters: { Id: 'mi-0123456789abcdef0', Mode: 'x' } })).toThrow(/must be one of/);
    expect(() => runAutomation(d, { parameters: { Id: 'mi-0123456789abcdef0', Count: 'x' } })).toThrow(/must be an Integer/);
    expect(() => runAutomation(d, { parameters: { Id: 'mi-0123456789abcdef0', Other: 'x' } })).toThrow(/unknown parameter: Other/);
  });

  test('accepts scalars as one-element lists, as StartAutomationExecution sends them', () => {
    const aws = new FakeAws().on('ssm', 'A', {});
    const d = doc([{ ...api('A'), inputs: { Service: 'ssm', Api: 'A', Id: '{{ Id }}' } }], { parameters: { Id: { type: 'String' } } });
    expect(runAutomation(d, { aws, parameters: { Id: ['mi-1'] } }).status).toBe('Success');
    expect(aws.calls[0].params).toEqual({ Id: 'mi-1' });
  });
});

describe('aws:executeAwsApi, outputs and substitution', () => {
  test('substitutes parameters, step outputs and globals, and types outputs', () => {
    const aws = new FakeAws()
      .on('ssm', 'ListTagsForResource', { TagList: [{ Key: 'PatchMode', Value: 'enforce' }], Count: 3 })
      .on('ec2', 'DescribeTags', (params: Record<string, unknown>) => ({ Echo: params }));
    const d = doc(
      [
        {
          name: 'Read',
          action: 'aws:executeAwsApi',
          inputs: { Service: 'ssm', Api: 'ListTagsForResource', ResourceType: 'ManagedInstance', ResourceId: '{{ NodeId }}' },
          outputs: [
            { Name: 'Tags', Selector: '$.TagList', Type: 'MapList' },
            { Name: 'First', Selector: '$.TagList[0].Value', Type: 'String' },
            { Name: 'Count', Selector: '$.Count', Type: 'Integer' },
            { Name: 'Missing', Selector: '$.Nope', Type: 'String' },
          ],
        },
        {
          name: 'Use',
          action: 'aws:executeAwsApi',
          inputs: {
            Service: 'ec2',
            Api: 'DescribeTags',
            Tags: '{{ Read.Tags }}',
            Text: 'node {{NodeId}} is {{ Read.First }} in {{ global:REGION }}/{{global:ACCOUNT_ID}}',
          },
        },
      ],
      { parameters: { NodeId: { type: 'String' } }, outputs: ['Read.First', 'Read.Count', 'Read.Missing'] },
    );
    const result = runAutomation(d, { aws, parameters: { NodeId: 'mi-1' }, region: 'us-east-2', accountId: '123456789012' });
    expect(result.status).toBe('Success');
    expect(aws.callsTo('ssm', 'ListTagsForResource')[0].params).toEqual({ ResourceType: 'ManagedInstance', ResourceId: 'mi-1' });
    expect(aws.callsTo('ec2', 'DescribeTags')[0].params).toEqual({
      Tags: [{ Key: 'PatchMode', Value: 'enforce' }],
      Text: 'node mi-1 is enforce in us-east-2/123456789012',
    });
    expect(result.outputs).toEqual({ 'Read.First': 'enforce', 'Read.Count': 3 });
  });

  test('an output of the wrong type fails the step', () => {
    const aws = new FakeAws().on('ssm', 'A', { Value: 'x' });
    const result = runAutomation(doc([api('A', { outputs: [{ Name: 'V', Selector: '$.Value', Type: 'Integer' }] })]), { aws });
    expect(result.status).toBe('Failed');
    expect(result.failureMessage).toMatch(/is not a Integer/);
  });

  test('a reference to an output that was never set fails the step that uses it', () => {
    const aws = new FakeAws().on('ssm', 'A', {}).on('ssm', 'B', {});
    const d = doc([
      api('A', { outputs: [{ Name: 'V', Selector: '$.Value', Type: 'String' }] }),
      { name: 'B', action: 'aws:executeAwsApi', inputs: { Service: 'ssm', Api: 'B', V: '{{ A.V }}' } },
    ]);
    const result = runAutomation(d, { aws });
    expect(result.status).toBe('Failed');
    expect(result.failureMessage).toMatch(/step A has no output V/);
    expect(aws.callsTo('ssm', 'B')).toHaveLength(0);
  });

  test('an API that was not programmed fails the step; a programmed error carries its code', () => {
    const aws = new FakeAws().fail('ssm', 'B', 'InvalidResourceId', 'no such node');
    expect(runAutomation(doc([api('A')]), { aws }).failureMessage).toMatch(/NotProgrammed/);
    expect(runAutomation(doc([api('B')]), { aws }).failureMessage).toMatch(/InvalidResourceId: no such node/);
  });
});

describe('aws:branch', () => {
  const branchDoc = (choices: unknown[], defaultStep?: string) =>
    doc(
      [
        { name: 'Choose', action: 'aws:branch', inputs: { Choices: choices, ...(defaultStep ? { Default: defaultStep } : {}) } },
        api('Fallthrough', { isEnd: true }),
        api('Yes', { isEnd: true }),
        api('No', { isEnd: true }),
      ],
      { parameters: { Mode: { type: 'String' }, Kind: { type: 'String', default: 'Patch' } } },
    );
  const aws = () => new FakeAws().on('ssm', 'Fallthrough', {}).on('ssm', 'Yes', {}).on('ssm', 'No', {});
  const run = (d: AutomationDocument, mode: string) => runAutomation(d, { aws: aws(), parameters: { Mode: mode } }).executedSteps;

  test('the first true choice wins; else Default; else the next step', () => {
    const d = branchDoc([
      { NextStep: 'Yes', Variable: '{{ Mode }}', StringEquals: 'enforce' },
      { NextStep: 'No', Variable: '{{ Mode }}', StartsWith: 'enf' },
    ], 'No');
    expect(run(d, 'enforce')).toEqual(['Choose', 'Yes']);
    expect(run(d, 'report')).toEqual(['Choose', 'No']);
    const noDefault = branchDoc([{ NextStep: 'Yes', Variable: '{{ Mode }}', StringEquals: 'enforce' }]);
    expect(run(noDefault, 'report')).toEqual(['Choose', 'Fallthrough']);
  });

  test('And, Or and Not combine conditions', () => {
    const d = branchDoc([
      { NextStep: 'Yes', And: [{ Variable: '{{ Mode }}', EqualsIgnoreCase: 'ENFORCE' }, { Variable: '{{ Kind }}', StringEquals: 'Patch' }] },
      { NextStep: 'No', Or: [{ Variable: '{{ Mode }}', Contains: 'port' }, { Not: { Variable: '{{ Mode }}', EndsWith: 'x' } }] },
    ]);
    expect(run(d, 'Enforce')).toEqual(['Choose', 'Yes']);
    expect(run(d, 'report')).toEqual(['Choose', 'No']);
    expect(run(d, 'x')).toEqual(['Choose', 'Fallthrough']);
  });

  test('numeric and boolean operators', () => {
    const d = branchDoc([
      { NextStep: 'Yes', Variable: '{{ Mode }}', NumericGreaterOrEquals: 10 },
      { NextStep: 'No', Variable: '{{ Mode }}', BooleanEquals: true },
    ]);
    expect(run(d, '10')).toEqual(['Choose', 'Yes']);
    expect(run(d, 'true')).toEqual(['Choose', 'No']);
  });
});

describe('flow control', () => {
  test('nextStep jumps and isEnd stops', () => {
    const aws = new FakeAws().on('ssm', 'A', {}).on('ssm', 'B', {}).on('ssm', 'C', {});
    const result = runAutomation(doc([api('A', { nextStep: 'C' }), api('B'), api('C', { isEnd: true }), api('D')]), { aws });
    expect(result.executedSteps).toEqual(['A', 'C']);
  });

  test('onFailure Abort (the default) ends the run Failed', () => {
    const aws = new FakeAws().fail('ssm', 'A', 'Boom').on('ssm', 'B', {});
    const result = runAutomation(doc([api('A'), api('B')]), { aws });
    expect(result.status).toBe('Failed');
    expect(result.executedSteps).toEqual(['A']);
  });

  test('onFailure step:X runs X, and a failed critical step still fails the run', () => {
    const aws = new FakeAws().fail('ssm', 'A', 'Boom').on('ssm', 'B', {}).on('ssm', 'Cleanup', {});
    const result = runAutomation(doc([api('A', { onFailure: 'step:Cleanup' }), api('B'), api('Cleanup', { isEnd: true })]), { aws });
    expect(result.executedSteps).toEqual(['A', 'Cleanup']);
    expect(result.status).toBe('Failed');
    expect(result.failureMessage).toMatch(/Step A failed: ssm A failed: Boom/);
  });

  test('onFailure Continue with isCritical false lets the run succeed', () => {
    const aws = new FakeAws().fail('ssm', 'A', 'Boom').on('ssm', 'B', {});
    const result = runAutomation(doc([api('A', { onFailure: 'Continue', isCritical: false }), api('B')]), { aws });
    expect(result.executedSteps).toEqual(['A', 'B']);
    expect(result.status).toBe('Success');
    expect(result.steps[0].status).toBe('Failed');
  });

  test('maxAttempts retries a failing step', () => {
    const aws = new FakeAws().onSequence('ssm', 'A', [new AwsApiError('Throttling', 'slow down'), new AwsApiError('Throttling', 'slow down'), {}]);
    expect(runAutomation(doc([api('A', { maxAttempts: 3 })]), { aws }).status).toBe('Success');
    expect(aws.callsTo('ssm', 'A')).toHaveLength(3);
    const twice = new FakeAws().onSequence('ssm', 'A', [new AwsApiError('Throttling', 'x'), new AwsApiError('Throttling', 'x'), {}]);
    expect(runAutomation(doc([api('A', { maxAttempts: 2 })]), { aws: twice }).status).toBe('Failed');
  });

  test('a call that takes longer than timeoutSeconds times out the step', () => {
    const aws = new FakeAws().on('ssm', 'A', (_p: unknown, ctx: { advance(s: number): void }) => {
      ctx.advance(120);
      return {};
    });
    const result = runAutomation(doc([api('A', { timeoutSeconds: 60 })]), { aws });
    expect(result.status).toBe('TimedOut');
    expect(result.steps[0].status).toBe('TimedOut');
  });

  test('cancellation runs the onCancel step and ends Cancelled', () => {
    const aws = new FakeAws().on('ssm', 'A', {}).on('ssm', 'B', {}).on('ssm', 'Cleanup', {});
    const d = doc([api('A'), api('B', { onCancel: 'step:Cleanup' }), api('C'), api('Cleanup', { isEnd: true })]);
    const result = runAutomation(d, { aws, cancelAtStep: 'B' });
    expect(result.executedSteps).toEqual(['A', 'B', 'Cleanup']);
    expect(result.steps[1].status).toBe('Cancelled');
    expect(result.status).toBe('Cancelled');
    expect(aws.callsTo('ssm', 'B')).toHaveLength(0);
  });

  test('a handler can cancel mid-step; without onCancel the run just stops', () => {
    const aws = new FakeAws().on('ssm', 'A', (_p: unknown, ctx: { cancel(): void }) => {
      ctx.cancel();
      return {};
    });
    const result = runAutomation(doc([api('A'), api('B')]), { aws });
    expect(result.status).toBe('Cancelled');
    expect(result.executedSteps).toEqual(['A']);
  });

  test('aws:sleep advances the virtual clock', () => {
    expect(isoDurationSeconds('PT1H2M3S')).toBe(3723);
    const aws = new FakeAws().on('ssm', 'A', {});
    const result = runAutomation(doc([{ name: 'Wait', action: 'aws:sleep', inputs: { Duration: 'PT5M' } }, api('A')]), { aws });
    expect(aws.calls[0].time).toBe(300);
    expect(result.status).toBe('Success');
  });
});

describe('aws:runCommand', () => {
  const d = doc(
    [
      {
        name: 'Patch',
        action: 'aws:runCommand',
        inputs: { DocumentName: 'AWS-RunPatchBaseline', InstanceIds: ['{{ NodeId }}'], Parameters: { Operation: 'Install' } },
      },
    ],
    { parameters: { NodeId: { type: 'String' } }, outputs: ['Patch.CommandId', 'Patch.Status'] },
  );

  test('sends the command and exposes CommandId and Status', () => {
    const aws = new FakeAws().on('ssm', 'SendCommand', { Command: { CommandId: 'c-1', Status: 'Success' } });
    const result = runAutomation(d, { aws, parameters: { NodeId: 'mi-1' } });
    expect(aws.callsTo('ssm', 'SendCommand')[0].params).toEqual({
      DocumentName: 'AWS-RunPatchBaseline',
      InstanceIds: ['mi-1'],
      Parameters: { Operation: 'Install' },
    });
    expect(result.outputs).toEqual({ 'Patch.CommandId': 'c-1', 'Patch.Status': 'Success' });
  });

  test('a command that fails fails the step', () => {
    const aws = new FakeAws().on('ssm', 'SendCommand', { Command: { CommandId: 'c-1', Status: 'Failed' } });
    const result = runAutomation(d, { aws, parameters: { NodeId: 'mi-1' } });
    expect(result.status).toBe('Failed');
    expect(result.failureMessage).toMatch(/Status Failed/);
  });
});

describe('aws:changeInstanceState and aws:waitForAwsResourceProperty', () => {
  const described = (state: string) => ({ Reservations: [{ Instances: [{ InstanceId: 'i-1', State: { Name: state } }] }] });

  test('starts the instances and polls until they are running', () => {
    const aws = new FakeAws()
      .on('ec2', 'StartInstances', {})
      .onSequence('ec2', 'DescribeInstances', [described('pending'), described('pending'), described('running')]);
    const d = doc([{ name: 'Start', action: 'aws:changeInstanceState', inputs: { InstanceIds: ['i-1'], DesiredState: 'running' } }]);
    const result = runAutomation(d, { aws });
    expect(result.status).toBe('Success');
    expect(aws.callsTo('ec2', 'StartInstances')[0].params).toEqual({ InstanceIds: ['i-1'] });
    expect(aws.callsTo('ec2', 'DescribeInstances')).toHaveLength(3);
  });

  test('CheckStateOnly only waits; a state never reached times out', () => {
    const aws = new FakeAws().on('ec2', 'DescribeInstances', described('running'));
    const d = doc([
      {
        name: 'Stopped',
        action: 'aws:changeInstanceState',
        timeoutSeconds: 60,
        inputs: { InstanceIds: ['i-1'], DesiredState: 'stopped', CheckStateOnly: true },
      },
    ]);
    const result = runAutomation(d, { aws, pollSeconds: 10 });
    expect(result.status).toBe('TimedOut');
    expect(aws.callsTo('ec2', 'StopInstances')).toHaveLength(0);
    expect(aws.callsTo('ec2', 'DescribeInstances').length).toBe(7);
  });

  test('waits for a property to reach a desired value', () => {
    const aws = new FakeAws().onSequence('ssm', 'DescribeInstanceInformation', [
      { InstanceInformationList: [] },
      { InstanceInformationList: [{ PingStatus: 'ConnectionLost' }] },
      { InstanceInformationList: [{ PingStatus: 'Online' }] },
    ]);
    const d = doc([
      {
        name: 'WaitOnline',
        action: 'aws:waitForAwsResourceProperty',
        inputs: {
          Service: 'ssm',
          Api: 'DescribeInstanceInformation',
          Filters: [{ Key: 'InstanceIds', Values: ['i-1'] }],
          PropertySelector: '$.InstanceInformationList[0].PingStatus',
          DesiredValues: ['Online'],
        },
      },
    ]);
    expect(runAutomation(d, { aws }).status).toBe('Success');
    expect(aws.calls[0].params).toEqual({ Filters: [{ Key: 'InstanceIds', Values: ['i-1'] }] });
    expect(aws.calls).toHaveLength(3);
  });
});

describe('aws:executeScript', () => {
  const script = [
    'def handler(events, context):',
    '    print("seen", events["Id"])',
    '    if events["Id"] == "bad":',
    '        raise ValueError("bad id")',
    '    return {"Upper": events["Id"].upper(), "Execution": context["automation:EXECUTION_ID"]}',
  ].join('\n');
  const d = doc(
    [
      {
        name: 'Script',
        action: 'aws:executeScript',
        inputs: { Runtime: 'python3.11', Handler: 'handler', Script: script, InputPayload: { Id: '{{ Id }}' } },
        outputs: [
          { Name: 'Upper', Selector: '$.Payload.Upper', Type: 'String' },
          { Name: 'Execution', Selector: '$.Payload.Execution', Type: 'String' },
        ],
      },
    ],
    { parameters: { Id: { type: 'String' } }, outputs: ['Script.Upper', 'Script.Execution'] },
  );

  test('runs the handler with python3 and selects from $.Payload', () => {
    const result = runAutomation(d, { parameters: { Id: 'mi-abc' }, executionId: 'exec-1' });
    expect(result.status).toBe('Success');
    expect(result.outputs).toEqual({ 'Script.Upper': 'MI-ABC', 'Script.Execution': 'exec-1' });
    expect(result.steps[0].stdout).toBe('seen mi-abc\n');
  });

  test('an exception fails the step with its message', () => {
    const result = runAutomation(d, { parameters: { Id: 'bad' } });
    expect(result.status).toBe('Failed');
    expect(result.failureMessage).toMatch(/ValueError: bad id/);
  });

  test('refuses runtimes it cannot run', () => {
    const ps = doc([{ name: 'S', action: 'aws:executeScript', inputs: { Runtime: 'PowerShell 7.0', Handler: 'h', Script: '' } }]);
    expect(runAutomation(ps).failureMessage).toMatch(/only python3/);
  });
});

test('parseRunbook reads YAML', () => {
  const parsed = parseRunbook('schemaVersion: "0.3"\nmainSteps:\n  - name: A\n    action: aws:sleep\n    inputs:\n      Duration: PT1S\n');
  expect(runAutomation(parsed).status).toBe('Success');
});
