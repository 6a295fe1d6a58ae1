import { AwsApiError, CallContext, FakeAws } from './fake-aws';
import { select } from './json-path';
import { runPythonHandler } from './python-script';

/*
 * A small interpreter for Automation runbooks (schemaVersion 0.3), so that tests execute a runbook's control flow
 * against a programmable fake AWS instead of only asserting its JSON. It follows the step semantics of the
 * Systems Manager User Guide (automation-actions, automation-action-*, automation-branch-condition):
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/automation-actions.html
 *
 * Time is virtual: polling steps and `aws:sleep` advance a clock instead of waiting, and a fake API handler can
 * advance it to simulate slow calls; a step whose time exceeds `timeoutSeconds` times out. Only `aws:executeScript`
 * runs for real (python3).
 */

export interface ParameterSpec {
  readonly type: 'String' | 'StringList' | 'Integer' | 'Boolean' | 'MapList' | 'StringMap' | 'AWS::IAM::Role::Arn';
  readonly default?: unknown;
  readonly allowedValues?: unknown[];
  readonly allowedPattern?: string;
  readonly description?: string;
}

export interface StepOutputSpec {
  readonly Name: string;
  readonly Selector: string;
  readonly Type: 'String' | 'Integer' | 'Boolean' | 'StringList' | 'StringMap' | 'MapList';
}

export interface AutomationStep {
  readonly name: string;
  readonly action: string;
  readonly inputs?: Record<string, unknown>;
  readonly outputs?: StepOutputSpec[];
  readonly maxAttempts?: number;
  readonly timeoutSeconds?: number;
  readonly onFailure?: string;
  readonly onCancel?: string;
  readonly isEnd?: boolean;
  readonly nextStep?: string;
  readonly isCritical?: boolean;
}

export interface AutomationDocument {
  readonly schemaVersion: string;
  readonly description?: string;
  readonly assumeRole?: string;
  readonly parameters?: Record<string, ParameterSpec>;
  readonly mainSteps: AutomationStep[];
  readonly outputs?: string[];
}

export type StepStatus = 'Success' | 'Failed' | 'TimedOut' | 'Cancelled';

export interface StepRecord {
  readonly name: string;
  readonly action: string;
  readonly status: StepStatus;
  readonly attempts: number;
  readonly outputs: Record<string, unknown>;
  readonly failureMessage?: string;
  /** Virtual seconds since the execution started. */
  readonly startTime: number;
  readonly endTime: number;
  /** What an `aws:executeScript` step printed. */
  readonly stdout?: string;
}

export interface AutomationResult {
  readonly status: StepStatus;
  /** The document's `outputs`, by `Step.Output`, for steps that ran and produced them. */
  readonly outputs: Record<string, unknown>;
  /** Every step execution in order (a step reached twice appears twice). */
  readonly steps: StepRecord[];
  /** Names of the steps executed, in order. */
  readonly executedSteps: string[];
  /** The first failure that decided the status, if any. */
  readonly failureMessage?: string;
  /** The resolved parameters the execution ran with. */
  readonly parameters: Record<string, unknown>;
}

export interface RunOptions {
  /** Runbook parameters, as StartAutomationExecution would take them (a String may be given bare). */
  readonly parameters?: Record<string, unknown>;
  /** The fake AWS that API-calling steps use. @default a FakeAws with nothing programmed */
  readonly aws?: FakeAws;
  /** Cancel the execution when this step is about to start (as StopAutomationExecution would). */
  readonly cancelAtStep?: string;
  /** Virtual seconds between two polls of a waiting step. @default 5 */
  readonly pollSeconds?: number;
  readonly accountId?: string;
  readonly region?: string;
  readonly executionId?: string;
}

/** The document or its parameters are invalid (Automation refuses them before running any step). */
export class AutomationValidationError extends Error {}

class StepFailure extends Error {
  constructor(
    message: string,
    public readonly timedOut = false,
  ) {
    super(message);
  }
}

const STEP_NAME = /^[a-zA-Z0-9_]+$/;
const SUPPORTED_ACTIONS = new Set([
  'aws:executeAwsApi',
  'aws:executeScript',
  'aws:branch',
  'aws:runCommand',
  'aws:changeInstanceState',
  'aws:waitForAwsResourceProperty',
  'aws:assertAwsResourceProperty',
  'aws:sleep',
]);
const DEFAULT_TIMEOUTS: Record<string, number> = {
  'aws:changeInstanceState': 3600,
  'aws:waitForAwsResourceProperty': 3600,
  'aws:executeScript': 600,
};
const MAX_STEP_EXECUTIONS = 1000;

/** Checks what Automation checks when a document is created. */
export function validateDocument(doc: AutomationDocument): void {
  const problems: string[] = [];
  if (doc.schemaVersion !== '0.3') problems.push(`schemaVersion must be '0.3', got: ${doc.schemaVersion}`);
  if (!Array.isArray(doc.mainSteps) || doc.mainSteps.length === 0) problems.push('mainSteps must not be empty');
  const names = new Set<string>();
  for (const step of doc.mainSteps ?? []) {
    if (!STEP_NAME.test(step.name ?? '')) problems.push(`step name must match ${STEP_NAME}, got: ${step.name}`);
    if (names.has(step.name)) problems.push(`duplicate step name: ${step.name}`);
    names.add(step.name);
    if (!SUPPORTED_ACTIONS.has(step.action)) problems.push(`step ${step.name}: action not supported by the interpreter: ${step.action}`);
  }
  const target = (step: AutomationStep, field: string, value: unknown) => {
    if (value === undefined) return;
    const name = String(value).replace(/^step:/, '');
    if (!names.has(name)) problems.push(`step ${step.name}: ${field} names an unknown step: ${value}`);
  };
  for (const step of doc.mainSteps ?? []) {
    target(step, 'nextStep', step.nextStep);
    if (step.onFailure !== undefined && !['Abort', 'Continue'].includes(step.onFailure)) {
      if (!step.onFailure.startsWith('step:')) problems.push(`step ${step.name}: onFailure must be Abort, Continue or step:<name>, got: ${step.onFailure}`);
      else target(step, 'onFailure', step.onFailure);
    }
    if (step.onCancel !== undefined && step.onCancel !== 'Abort') {
      if (!step.onCancel.startsWith('step:')) problems.push(`step ${step.name}: onCancel must be Abort or step:<name>, got: ${step.onCancel}`);
      else target(step, 'onCancel', step.onCancel);
    }
    if (step.action === 'aws:branch') {
      const choices = (step.inputs?.Choices ?? []) as Array<Record<string, unknown>>;
      if (choices.length === 0) problems.push(`step ${step.name}: aws:branch needs Choices`);
      for (const choice of choices) target(step, 'Choices.NextStep', choice.NextStep);
      target(step, 'Default', step.inputs?.Default);
    }
    if (step.isCritical === false && step.onFailure === undefined) {
      // Allowed, but a non-critical step that aborts still fails the run; nothing to report.
    }
  }
  if (problems.length > 0) throw new AutomationValidationError(problems.join('; '));
}

/** Resolves and checks parameters as StartAutomationExecution does. */
export function resolveParameters(doc: AutomationDocument, given: Record<string, unknown> = {}): Record<string, unknown> {
  const specs = doc.parameters ?? {};
  const problems: string[] = [];
  for (const name of Object.keys(given)) {
    if (!(name in specs)) problems.push(`unknown parameter: ${name}`);
  }
  const resolved: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    let value = name in given ? given[name] : spec.default;
    if (value === undefined) {
      problems.push(`parameter ${name} is required`);
      continue;
    }
    // StartAutomationExecution takes every value as a list of strings; accept a one-element list for scalars.
    if (spec.type !== 'StringList' && spec.type !== 'MapList' && Array.isArray(value) && value.length === 1) value = value[0];
    switch (spec.type) {
      case 'String':
      case 'AWS::IAM::Role::Arn':
        if (typeof value !== 'string') problems.push(`parameter ${name} must be a String, got: ${JSON.stringify(value)}`);
        break;
      case 'StringList':
        if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) problems.push(`parameter ${name} must be a StringList, got: ${JSON.stringify(value)}`);
        break;
      case 'Integer':
        if (typeof value === 'string' && /^-?\d+$/.test(value)) value = Number(value);
        if (!Number.isInteger(value)) problems.push(`parameter ${name} must be an Integer, got: ${JSON.stringify(value)}`);
        break;
      case 'Boolean':
        if (value === 'true' || value === 'false') value = value === 'true';
        if (typeof value !== 'boolean') problems.push(`parameter ${name} must be a Boolean, got: ${JSON.stringify(value)}`);
        break;
      case 'MapList':
        if (!Array.isArray(value) || value.some((v) => v === null || typeof v !== 'object')) problems.push(`parameter ${name} must be a MapList, got: ${JSON.stringify(value)}`);
        break;
      case 'StringMap':
        if (value === null || typeof value !== 'object' || Array.isArray(value)) problems.push(`parameter ${name} must be a StringMap, got: ${JSON.stringify(value)}`);
        break;
      default:
        problems.push(`parameter ${name} has an unknown type: ${spec.type}`);
    }
    const scalars = Array.isArray(value) ? value : [value];
    if (spec.allowedValues && scalars.some((v) => !spec.allowedValues!.includes(v))) {
      problems.push(`parameter ${name} must be one of ${JSON.stringify(spec.allowedValues)}, got: ${JSON.stringify(value)}`);
    }
    // Automation checks allowedPattern on the values it is given, not on defaults.
    if (spec.allowedPattern !== undefined && name in given) {
      const pattern = new RegExp(spec.allowedPattern);
      if (scalars.some((v) => typeof v !== 'string' || !pattern.test(v))) {
        problems.push(`parameter ${name} must match ${spec.allowedPattern}, got: ${JSON.stringify(value)}`);
      }
    }
    resolved[name] = value;
  }
  if (problems.length > 0) throw new AutomationValidationError(problems.join('; '));
  return resolved;
}

/**
 * Runs a runbook. Throws `AutomationValidationError` for an invalid document or invalid parameters; otherwise
 * returns how the execution ended, with every step's status and outputs.
 */
export function runAutomation(doc: AutomationDocument, options: RunOptions = {}): AutomationResult {
  validateDocument(doc);
  const parameters = resolveParameters(doc, options.parameters);
  return new Execution(doc, parameters, options).run();
}

class Execution {
  private clock = 0;
  private cancelRequested = false;
  private readonly aws: FakeAws;
  private readonly stepOutputs = new Map<string, Record<string, unknown>>();
  private readonly records: StepRecord[] = [];
  private readonly byName: Map<string, number>;
  private readonly globals: Record<string, string>;

  constructor(
    private readonly doc: AutomationDocument,
    private readonly parameters: Record<string, unknown>,
    private readonly options: RunOptions,
  ) {
    this.aws = options.aws ?? new FakeAws();
    this.byName = new Map(doc.mainSteps.map((s, i) => [s.name, i]));
    const executionId = options.executionId ?? '00000000-0000-4000-8000-000000000000';
    this.globals = {
      'global:ACCOUNT_ID': options.accountId ?? '111122223333',
      'global:REGION': options.region ?? 'eu-west-1',
      'global:AWS_PARTITION': 'aws',
      'global:DATE_TIME': '2026-11-30T00:00:00Z',
      'automation:EXECUTION_ID': executionId,
      'automation:AUTOMATION_EXECUTION_ID': executionId,
    };
  }

  run(): AutomationResult {
    let index: number | undefined = 0;
    let status: StepStatus = 'Success';
    let failureMessage: string | undefined;
    let cancelled = false;
    let criticalFailure: string | undefined;

    while (index !== undefined) {
      if (this.records.length >= MAX_STEP_EXECUTIONS) {
        status = 'Failed';
        failureMessage = `more than ${MAX_STEP_EXECUTIONS} step executions: the runbook loops`;
        break;
      }
      const step = this.doc.mainSteps[index];
      if (!cancelled && this.options.cancelAtStep === step.name) this.cancelRequested = true;
      const record = this.runStep(step, cancelled);
      this.records.push(record);

      if (record.status === 'Cancelled') {
        cancelled = true;
        status = 'Cancelled';
        if (step.onCancel?.startsWith('step:')) {
          index = this.byName.get(step.onCancel.slice(5));
          continue;
        }
        break;
      }
      if (record.status === 'Failed' || record.status === 'TimedOut') {
        const message = `Step ${step.name} ${record.status === 'TimedOut' ? 'timed out' : 'failed'}: ${record.failureMessage}`;
        const onFailure = step.onFailure ?? 'Abort';
        if (onFailure === 'Abort') {
          if (!cancelled) status = record.status;
          failureMessage = failureMessage ?? message;
          break;
        }
        if (step.isCritical !== false) criticalFailure = criticalFailure ?? message;
        if (onFailure.startsWith('step:')) {
          index = this.byName.get(onFailure.slice(5));
          continue;
        }
      }
      index = this.next(step, index, record);
    }

    if (status === 'Success' && criticalFailure !== undefined) {
      status = 'Failed';
      failureMessage = criticalFailure;
    }
    return {
      status,
      outputs: this.documentOutputs(),
      steps: this.records,
      executedSteps: this.records.map((r) => r.name),
      failureMessage: failureMessage ?? (status === 'Cancelled' ? 'cancelled' : undefined),
      parameters: this.parameters,
    };
  }

  private next(step: AutomationStep, index: number, record: StepRecord): number | undefined {
    if (step.action === 'aws:branch' && record.status === 'Success') {
      const chosen = record.outputs.__next as string | undefined;
      if (chosen !== undefined) return this.byName.get(chosen);
    }
    if (step.isEnd) return undefined;
    if (step.nextStep !== undefined) return this.byName.get(step.nextStep);
    return index + 1 < this.doc.mainSteps.length ? index + 1 : undefined;
  }

  private runStep(step: AutomationStep, inCancelCleanup: boolean): StepRecord {
    const startTime = this.clock;
    const maxAttempts = step.maxAttempts ?? 1;
    let attempts = 0;
    let failure: StepFailure | undefined;
    let outputs: Record<string, unknown> = {};
    let stdout: string | undefined;
    if (this.cancelRequested && !inCancelCleanup) {
      this.cancelRequested = false;
      return { name: step.name, action: step.action, status: 'Cancelled', attempts: 0, outputs, startTime, endTime: this.clock };
    }
    while (attempts < maxAttempts) {
      attempts++;
      const attemptStart = this.clock;
      failure = undefined;
      try {
        const result = this.execute(step, attemptStart);
        outputs = result.outputs;
        stdout = result.stdout;
        const timeout = step.timeoutSeconds ?? DEFAULT_TIMEOUTS[step.action];
        if (timeout !== undefined && this.clock - attemptStart > timeout) {
          throw new StepFailure(`step took ${this.clock - attemptStart} s, timeoutSeconds is ${timeout}`, true);
        }
      } catch (e) {
        failure = e instanceof StepFailure ? e : new StepFailure(e instanceof Error ? e.message : String(e));
      }
      if (this.cancelRequested && !inCancelCleanup) {
        this.cancelRequested = false;
        return { name: step.name, action: step.action, status: 'Cancelled', attempts, outputs, startTime, endTime: this.clock, stdout };
      }
      if (!failure) break;
    }
    if (failure) {
      return {
        name: step.name,
        action: step.action,
        status: failure.timedOut ? 'TimedOut' : 'Failed',
        attempts,
        outputs: {},
        failureMessage: failure.message,
        startTime,
        endTime: this.clock,
        stdout,
      };
    }
    this.stepOutputs.set(step.name, outputs);
    return { name: step.name, action: step.action, status: 'Success', attempts, outputs, startTime, endTime: this.clock, stdout };
  }

  private context(): CallContext {
    return {
      now: this.clock,
      advance: (seconds: number) => {
        this.clock += seconds;
      },
      cancel: () => {
        this.cancelRequested = true;
      },
    };
  }

  private call(service: string, api: string, params: Record<string, unknown>): unknown {
    try {
      return this.aws.invoke(service, api, params, this.context());
    } catch (e) {
      if (e instanceof AwsApiError) throw new StepFailure(`${service} ${api} failed: ${e.message}`);
      throw e;
    }
  }

  private execute(step: AutomationStep, attemptStart: number): { outputs: Record<string, unknown>; stdout?: string } {
    const inputs = this.substitute(step.inputs ?? {}) as Record<string, unknown>;
    switch (step.action) {
      case 'aws:executeAwsApi': {
        const { Service, Api, ...params } = inputs;
        const response = this.call(String(Service), String(Api), params);
        return { outputs: this.selectOutputs(step, response) };
      }
      case 'aws:executeScript': {
        const runtime = String(inputs.Runtime ?? '');
        if (!/^python3\.\d+$/.test(runtime)) throw new StepFailure(`the interpreter runs only python3.x scripts, got Runtime: ${runtime}`);
        if (typeof inputs.Script !== 'string') throw new StepFailure('aws:executeScript needs an inline Script');
        const timeout = Math.min(step.timeoutSeconds ?? 600, 600);
        const result = runPythonHandler(inputs.Script, String(inputs.Handler), inputs.InputPayload ?? {}, {
          'automation:EXECUTION_ID': this.globals['automation:EXECUTION_ID'],
        }, timeout);
        if (!result.ok) throw new StepFailure(result.error ?? 'script failed', result.timedOut);
        return { outputs: this.selectOutputs(step, { Payload: result.payload }), stdout: result.stdout };
      }
      case 'aws:branch': {
        const choices = inputs.Choices as Array<Record<string, unknown>>;
        const chosen = choices.find((choice) => evaluateChoice(choice, step.name));
        const nextStep = chosen ? (chosen.NextStep as string) : (inputs.Default as string | undefined);
        return { outputs: nextStep === undefined ? {} : { __next: nextStep } };
      }
      case 'aws:runCommand': {
        const response = this.call('ssm', 'SendCommand', inputs) as Record<string, unknown> | undefined;
        const command = (response?.Command ?? {}) as Record<string, unknown>;
        const status = String(command.Status ?? 'Success');
        const outputs = {
          CommandId: command.CommandId ?? 'command-id',
          Status: status,
          ResponseCode: command.ResponseCode ?? (status === 'Success' ? 0 : 1),
          Output: command.Output ?? '',
        };
        if (status !== 'Success') throw new StepFailure(`command ${outputs.CommandId} ended with Status ${status}`);
        return { outputs };
      }
      case 'aws:changeInstanceState': {
        const ids = inputs.InstanceIds as string[];
        const desired = String(inputs.DesiredState);
        const api = { running: 'StartInstances', stopped: 'StopInstances', terminated: 'TerminateInstances' }[desired];
        if (!api) throw new StepFailure(`DesiredState must be running, stopped or terminated, got: ${desired}`);
        if (!isTrue(inputs.CheckStateOnly)) {
          const params: Record<string, unknown> = { InstanceIds: ids };
          if (desired === 'stopped' && inputs.Force !== undefined) params.Force = isTrue(inputs.Force);
          this.call('ec2', api, params);
        }
        this.poll(step, attemptStart, () => {
          const response = this.call('ec2', 'DescribeInstances', { InstanceIds: ids });
          const states = ((select(response, '$..State') ?? []) as Array<{ Name?: string }>).map((s) => s.Name);
          return states.length >= ids.length && states.every((s) => s === desired);
        });
        return { outputs: {} };
      }
      case 'aws:waitForAwsResourceProperty':
      case 'aws:assertAwsResourceProperty': {
        const { Service, Api, PropertySelector, DesiredValues, ...params } = inputs;
        const check = () => {
          const value = select(this.call(String(Service), String(Api), params), String(PropertySelector));
          const values = Array.isArray(value) ? value : [value];
          return values.length > 0 && values.every((v) => (DesiredValues as unknown[]).map(String).includes(String(v)));
        };
        if (step.action === 'aws:assertAwsResourceProperty') {
          if (!check()) throw new StepFailure(`${PropertySelector} is not one of ${JSON.stringify(DesiredValues)}`);
        } else {
          this.poll(step, attemptStart, check);
        }
        return { outputs: {} };
      }
      case 'aws:sleep': {
        const seconds = isoDurationSeconds(String(inputs.Duration));
        this.clock += seconds;
        return { outputs: {} };
      }
      default:
        throw new StepFailure(`unsupported action ${step.action}`);
    }
  }

  private poll(step: AutomationStep, attemptStart: number, done: () => boolean): void {
    const timeout = step.timeoutSeconds ?? DEFAULT_TIMEOUTS[step.action] ?? 3600;
    const interval = this.options.pollSeconds ?? 5;
    for (;;) {
      if (done()) return;
      if (this.cancelRequested) return;
      this.clock += interval;
      if (this.clock - attemptStart > timeout) {
        throw new StepFailure(`the desired state was not reached within timeoutSeconds ${timeout}`, true);
      }
    }
  }

  private selectOutputs(step: AutomationStep, response: unknown): Record<string, unknown> {
    const outputs: Record<string, unknown> = {};
    for (const spec of step.outputs ?? []) {
      const value = select(response, spec.Selector);
      if (value === undefined) continue; // Automation leaves an unmatched output unset.
      outputs[spec.Name] = convert(value, spec, step.name);
    }
    return outputs;
  }

  private documentOutputs(): Record<string, unknown> {
    const outputs: Record<string, unknown> = {};
    for (const ref of this.doc.outputs ?? []) {
      const [stepName, output] = ref.split('.');
      const values = this.stepOutputs.get(stepName);
      if (values && output in values) outputs[ref] = values[output];
    }
    return outputs;
  }

  private lookup(reference: string): unknown {
    if (reference in this.globals) return this.globals[reference];
    const dot = reference.indexOf('.');
    if (dot > 0) {
      const stepName = reference.slice(0, dot);
      const output = reference.slice(dot + 1);
      if (!this.byName.has(stepName)) throw new StepFailure(`unknown variable {{ ${reference} }}`);
      const values = this.stepOutputs.get(stepName);
      if (!values) throw new StepFailure(`{{ ${reference} }}: step ${stepName} has not run successfully`);
      if (!(output in values)) throw new StepFailure(`{{ ${reference} }}: step ${stepName} has no output ${output}`);
      return values[output];
    }
    if (!(reference in this.parameters)) throw new StepFailure(`unknown variable {{ ${reference} }}`);
    return this.parameters[reference];
  }

  private substitute(value: unknown): unknown {
    if (typeof value === 'string') {
      const whole = value.match(/^\{\{\s*([^{}]+?)\s*\}\}$/);
      if (whole) return this.lookup(whole[1]);
      return value.replace(/\{\{\s*([^{}]+?)\s*\}\}/g, (_, ref: string) => {
        const resolved = this.lookup(ref);
        return typeof resolved === 'string' ? resolved : JSON.stringify(resolved);
      });
    }
    if (Array.isArray(value)) return value.map((v) => this.substitute(v));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.substitute(v)]));
    }
    return value;
  }
}

function isTrue(value: unknown): boolean {
  return value === true || value === 'true' || value === 'True';
}

function convert(value: unknown, spec: StepOutputSpec, stepName: string): unknown {
  const bad = () => new StepFailure(`step ${stepName}: output ${spec.Name} (${spec.Selector}) is not a ${spec.Type}: ${JSON.stringify(value)}`);
  switch (spec.Type) {
    case 'String':
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'boolean') return String(value);
      throw bad();
    case 'Integer':
      if (Number.isInteger(value)) return value;
      throw bad();
    case 'Boolean':
      if (typeof value === 'boolean') return value;
      throw bad();
    case 'StringList':
      if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
      throw bad();
    case 'StringMap':
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value;
      throw bad();
    case 'MapList':
      if (Array.isArray(value) && value.every((v) => v !== null && typeof v === 'object')) return value;
      throw bad();
    default:
      throw bad();
  }
}

/** Evaluates one aws:branch choice (operators, And, Or, Not). */
export function evaluateChoice(choice: Record<string, unknown>, stepName = 'branch'): boolean {
  if (Array.isArray(choice.And)) return (choice.And as Array<Record<string, unknown>>).every((c) => evaluateChoice(c, stepName));
  if (Array.isArray(choice.Or)) return (choice.Or as Array<Record<string, unknown>>).some((c) => evaluateChoice(c, stepName));
  if (choice.Not !== undefined) {
    const inner = Array.isArray(choice.Not) ? choice.Not[0] : choice.Not;
    return !evaluateChoice(inner as Record<string, unknown>, stepName);
  }
  const variable = choice.Variable;
  const text = typeof variable === 'string' ? variable : JSON.stringify(variable);
  // A value that is not a number makes a numeric condition false.
  const num = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? NaN : Number(v));
  const operators: Record<string, (operand: unknown) => boolean> = {
    StringEquals: (o) => text === String(o),
    EqualsIgnoreCase: (o) => text.toLowerCase() === String(o).toLowerCase(),
    StartsWith: (o) => text.startsWith(String(o)),
    EndsWith: (o) => text.endsWith(String(o)),
    Contains: (o) => (Array.isArray(variable) ? variable.map(String).includes(String(o)) : text.includes(String(o))),
    NumericEquals: (o) => num(variable) === num(o),
    NumericGreater: (o) => num(variable) > num(o),
    NumericLesser: (o) => num(variable) < num(o),
    NumericGreaterOrEquals: (o) => num(variable) >= num(o),
    NumericLesserOrEquals: (o) => num(variable) <= num(o),
    BooleanEquals: (o) => isTrue(variable) === isTrue(o),
  };
  const op = Object.keys(choice).find((k) => k in operators);
  if (!op) throw new StepFailure(`step ${stepName}: choice has no supported operator: ${JSON.stringify(choice)}`);
  return operators[op](choice[op]);
}

/** Seconds in an ISO 8601 duration such as PT5M or PT1H30S. */
export function isoDurationSeconds(duration: string): number {
  const match = duration.match(/^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$/);
  if (!match || duration === 'PT') throw new StepFailure(`Duration must be an ISO 8601 duration like PT5M, got: ${duration}`);
  return Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0);
}
