/**
 * A programmable fake of the AWS APIs that Automation steps call. Each test programs the answers it needs
 * (`on`, `onSequence`, `fail`); every call is recorded in `calls`. An API that was not programmed throws, so a
 * runbook that calls something unexpected fails its step instead of passing silently.
 *
 * Services use the boto3 names that `aws:executeAwsApi` takes (`ssm`, `ec2`); API names are as written in the
 * document (`ListTagsForResource`). `aws:runCommand` calls `ssm SendCommand`; `aws:changeInstanceState` calls
 * `ec2 StartInstances`/`StopInstances`/`TerminateInstances` and polls `ec2 DescribeInstances`.
 */

/** An error as the service would return it (`Code` is what Automation shows, e.g. `InvalidResourceId`). */
export class AwsApiError extends Error {
  constructor(
    public readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'AwsApiError';
  }
}

/** What a handler may do besides answering: advance the virtual clock, or cancel the execution. */
export interface CallContext {
  /** Seconds since the execution started (virtual). */
  readonly now: number;
  /** Advance the virtual clock, e.g. to simulate a slow call and hit a step's `timeoutSeconds`. */
  advance(seconds: number): void;
  /** Ask for the execution to be cancelled (as StopAutomationExecution would); the current step is cancelled. */
  cancel(): void;
}

export type ApiHandler = (params: Record<string, unknown>, context: CallContext) => unknown;

/** One recorded call. `time` is the virtual clock when the call was made. */
export interface RecordedCall {
  readonly service: string;
  readonly api: string;
  readonly params: Record<string, unknown>;
  readonly time: number;
}

export class FakeAws {
  /** Every call made, in order. */
  public readonly calls: RecordedCall[] = [];
  private readonly handlers = new Map<string, ApiHandler>();

  /** Answer `service api` with a fixed response, or with a function of the request. */
  public on(service: string, api: string, response: unknown): this {
    const handler: ApiHandler =
      typeof response === 'function' ? (response as ApiHandler) : () => structuredClone(response);
    this.handlers.set(key(service, api), handler);
    return this;
  }

  /** Answer successive calls with successive responses; the last one repeats. An `Error` in the list is thrown. */
  public onSequence(service: string, api: string, responses: unknown[]): this {
    if (responses.length === 0) throw new Error('onSequence needs at least one response');
    let i = 0;
    return this.on(service, api, () => {
      const response = responses[Math.min(i++, responses.length - 1)];
      if (response instanceof Error) throw response;
      return structuredClone(response);
    });
  }

  /** Make `service api` fail with a service error. */
  public fail(service: string, api: string, code: string, message = 'programmed failure'): this {
    return this.on(service, api, () => {
      throw new AwsApiError(code, message);
    });
  }

  /** Calls of one API, in order. */
  public callsTo(service: string, api: string): RecordedCall[] {
    return this.calls.filter((c) => c.service === service.toLowerCase() && c.api === api);
  }

  /** Used by the interpreter. */
  public invoke(service: string, api: string, params: Record<string, unknown>, context: CallContext): unknown {
    this.calls.push({ service: service.toLowerCase(), api, params: structuredClone(params), time: context.now });
    const handler = this.handlers.get(key(service, api));
    if (!handler) throw new AwsApiError('NotProgrammed', `the fake AWS API has no answer for ${service} ${api}`);
    return handler(params, context);
  }
}

function key(service: string, api: string): string {
  return `${service.toLowerCase()} ${api}`;
}
