/**
 * A loopback HTTP server that speaks the Systems Manager JSON protocol (awsJson1_1) well enough for
 * `@aws-sdk/client-ssm` pointed at it with `AWS_ENDPOINT_URL_SSM` (or `new SSMClient({ endpoint })`).
 *
 * Protocol: `POST /`, header `X-Amz-Target: AmazonSSM.<Operation>`, `Content-Type: application/x-amz-json-1.1`,
 * JSON body in and out. Errors are an HTTP 4xx/5xx with `{"__type": "<ErrorName>", "message": "..."}` (the SDK reads
 * the error name from `__type`, see awsJson1_1). Signatures are not checked.
 *
 * Operations live in a handler map keyed by operation name (`stub.handle(op, fn)` adds or replaces one);
 * `CreateActivation` is built in. Faults are scripted per operation: each request first takes the next step queued
 * for its operation (`failNext`, `delayNext`, `destroyNext`, `script`); when the queue is empty, a persistent fault
 * (`failAlways`) applies, else the handler answers. An optional rate limit (`rateLimit` option or method) answers
 * `ThrottlingException` beyond a fixed rate per operation, before any scripted step is taken.
 *
 * No test-framework imports: used from jest (test/e2e) and from the plain node bench (scripts/bench.ts).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

/** One request as the stub received it. */
export interface RecordedRequest {
  /** Operation from `X-Amz-Target` (`AmazonSSM.CreateActivation` → `CreateActivation`), `''` if absent. */
  readonly operation: string;
  /** Parsed JSON body (`undefined` if it did not parse). */
  readonly body: any;
  /** Raw body text. */
  readonly rawBody: string;
  /** Request headers (lower-case names). */
  readonly headers: http.IncomingHttpHeaders;
  /** `Date.now()` when the body was fully read. */
  readonly receivedAt: number;
  /** What the stub did with it. */
  outcome?: 'ok' | 'error' | 'destroyed' | 'aborted';
  /** HTTP status sent (absent when the socket was destroyed or the client went away). */
  status?: number;
  /** `__type` of the error sent, when the answer was an error. */
  errorType?: string;
  /** True when the stub's rate limit answered `ThrottlingException`. */
  rateLimited?: boolean;
}

/**
 * A fixed request rate per operation: each operation has its own token bucket (as AWS throttles each API action
 * separately) refilled at `tps` tokens per second up to `burst`; a request finding the bucket empty is answered
 * `ThrottlingException` (HTTP 400, "Rate exceeded").
 */
export interface RateLimit {
  /** Requests per second per operation (> 0). */
  readonly tps: number;
  /** Bucket size (≥ 1). Default: `tps` rounded up (one second's worth). */
  readonly burst?: number;
  /** Operations never limited (e.g. `RegisterManagedInstance`, called by agents rather than by the handlers). */
  readonly exempt?: readonly string[];
}

/** A scripted answer for one request (or, with `failAlways`, for every request) of an operation. */
export interface FaultSpec {
  /** HTTP status. Default: 400 for `ThrottlingException`/`ValidationException`/other client errors, 500 if `type` is `InternalServerError` or absent. */
  readonly status?: number;
  /** Error name sent as `__type` (default `InternalServerError`). */
  readonly type?: string;
  /** Error message (default: a generic one naming the type). */
  readonly message?: string;
  /** Wait this long before answering (or before destroying the socket, or before passing through). */
  readonly delayMs?: number;
  /** Destroy the connection instead of answering (the SDK sees a reset socket). */
  readonly destroy?: boolean;
  /** Answer normally (the operation handler runs) after `delayMs`: use for pure latency. */
  readonly passthrough?: boolean;
  /** Extra response headers (e.g. `x-amzn-errortype`). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Handler result: a JSON body for 200, or an error to send. */
export type OperationResult = { readonly body: unknown } | { readonly error: FaultSpec };

/** An operation handler: gets the parsed request body and the stub (for its state), returns a result. */
export type OperationHandler = (input: any, stub: SsmStub) => OperationResult | Promise<OperationResult>;

/** Activation as stored by the built-in `CreateActivation` (for assertions and later operations). */
export interface StoredActivation {
  readonly ActivationId: string;
  readonly ActivationCode: string;
  readonly request: any;
  readonly createdAt: number;
  /** How many nodes registered with it (`SsmStub.register` increments it). */
  registrationsCount: number;
}

/** A hybrid node id: `mi-` and 17 hex digits. */
export function randomManagedInstanceId(): string {
  return `mi-${randomBytes(9).toString('hex').slice(0, 17)}`;
}

const tagList = (tags: ReadonlyMap<string, string> | Readonly<Record<string, string>>) =>
  (tags instanceof Map ? [...tags.entries()] : Object.entries(tags)).map(([Key, Value]) => ({ Key, Value }));

const validationError = (message: string): OperationResult => ({ error: { status: 400, type: 'ValidationException', message } });

/** Pages `items` the way SSM does: `NextToken` is the index of the next item; `MaxResults` bounded to [min, max]. */
function page<T>(items: T[], input: any, bounds: { min: number; max: number; default: number }): { items: T[]; NextToken?: string } | OperationResult {
  const max = input?.MaxResults ?? bounds.default;
  if (!Number.isInteger(max) || max < bounds.min || max > bounds.max) {
    return validationError(`MaxResults must be between ${bounds.min} and ${bounds.max}`);
  }
  const start = input?.NextToken === undefined ? 0 : Number(input.NextToken);
  if (!Number.isInteger(start) || start < 0 || start > items.length) return { error: { status: 400, type: 'InvalidNextToken', message: 'bad token' } };
  const end = start + max;
  return { items: items.slice(start, end), NextToken: end < items.length ? String(end) : undefined };
}

/**
 * When an activation expires, in ms since the epoch: the SDK sends `ExpirationDate` as epoch seconds (a number),
 * seeded activations hold an ISO string; default 24 hours after creation, as SSM does.
 */
function expirationOf(a: StoredActivation): number {
  const raw = a.request?.ExpirationDate;
  if (typeof raw === 'number') return raw * 1000;
  return raw === undefined ? a.createdAt + 24 * 3_600_000 : new Date(raw).getTime();
}

function activationTags(a: StoredActivation): Record<string, string> {
  return Object.fromEntries(((a.request?.Tags ?? []) as { Key: string; Value: string }[]).map((t) => [t.Key, t.Value]));
}

function nodeMatches(node: StoredNode, filters: { Key: string; Values: string[] }[]): boolean {
  return filters.every((f) => {
    if (f.Key.startsWith('tag:')) {
      const value = node.tags.get(f.Key.slice(4));
      return value !== undefined && f.Values.includes(value);
    }
    switch (f.Key) {
      case 'tag-key': return f.Values.some((k) => node.tags.has(k));
      case 'InstanceIds': return f.Values.includes(node.InstanceId);
      case 'PingStatus': return f.Values.includes(node.PingStatus);
      case 'ResourceType': return f.Values.includes(node.ResourceType);
      case 'ActivationIds': return node.ActivationId !== undefined && f.Values.includes(node.ActivationId);
      default: return false;
    }
  });
}

/** A managed node as the stub knows it (hybrid `mi-…` or EC2 `i-…`). */
export interface StoredNode {
  readonly InstanceId: string;
  Name?: string;
  PingStatus: 'Online' | 'ConnectionLost' | 'Inactive';
  LastPingDateTime: Date;
  readonly ResourceType: 'ManagedInstance' | 'EC2Instance';
  readonly ActivationId?: string;
  readonly RegistrationDate: Date;
  readonly tags: Map<string, string>;
}

/** Severities of compliance items (SSM `ComplianceSeverity`), worst first. */
export const COMPLIANCE_SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL', 'UNSPECIFIED'] as const;
export type ComplianceSeverity = (typeof COMPLIANCE_SEVERITIES)[number];

/** A node's compliance for one compliance type, as `ListResourceComplianceSummaries` reports it. */
export interface StoredComplianceSummary {
  readonly instanceId: string;
  readonly complianceType: string;
  /** Non-compliant item counts by severity; the summary is `NON_COMPLIANT` when any is above 0. */
  readonly nonCompliant: Partial<Record<ComplianceSeverity, number>>;
  /** Compliant items (counted as `UNSPECIFIED`). Default 1. */
  readonly compliantCount: number;
  readonly executionTime: Date;
}

/** Mutable state shared by the operation handlers; cleared by `reset()`. */
export interface SsmStubState {
  readonly activations: Map<string, StoredActivation>;
  readonly nodes: Map<string, StoredNode>;
  /** Compliance summaries, in insertion order (the listing order). */
  readonly compliance: StoredComplianceSummary[];
}

/** Options for `SsmStub.addNode`. */
export interface NodeSeed {
  readonly instanceId?: string;
  readonly name?: string;
  readonly pingStatus?: StoredNode['PingStatus'];
  /** Default: now. */
  readonly lastPing?: Date;
  readonly tags?: Readonly<Record<string, string>>;
  readonly activationId?: string;
  readonly resourceType?: StoredNode['ResourceType'];
}

/** Options for `SsmStub.addActivation` (an activation created outside the handler, e.g. older ones). */
export interface ActivationSeed {
  readonly activationId?: string;
  readonly name?: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly registrationLimit?: number;
  readonly registrationsCount?: number;
  /** Default: one hour from now. */
  readonly expirationDate?: Date;
  readonly createdDate?: Date;
  /** The activation's `IamRole` (default `HybridFleetInstanceRole`). */
  readonly iamRole?: string;
}

/** Ready-made faults. */
export const Faults = {
  throttling: (message = 'Rate exceeded'): FaultSpec => ({ status: 400, type: 'ThrottlingException', message }),
  internal: (message = 'An internal error occurred.'): FaultSpec => ({ status: 500, type: 'InternalServerError', message }),
  serviceUnavailable: (message = 'Service unavailable'): FaultSpec => ({ status: 503, type: 'ServiceUnavailable', message }),
  roleNotVisible: (roleArn = 'arn:aws:iam::123456789012:role/HybridFleetInstanceRole'): FaultSpec => ({
    status: 400,
    type: 'ValidationException',
    message: `Not existing role: ${roleArn}`,
  }),
  accessDenied: (message = 'User: arn:aws:sts::123456789012:assumed-role/Fn/x is not authorized to perform: ssm:CreateActivation'): FaultSpec => ({
    status: 400,
    type: 'AccessDeniedException',
    message,
  }),
  delay: (delayMs: number): FaultSpec => ({ delayMs, passthrough: true }),
  destroy: (delayMs = 0): FaultSpec => ({ destroy: true, delayMs }),
};

const ACTIVATION_CODE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** A random activation code: 20 characters of the base64 alphabet (real codes are 20–250 characters). */
export function randomActivationCode(length = 20): string {
  const bytes = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += ACTIVATION_CODE_ALPHABET[bytes[i] % ACTIVATION_CODE_ALPHABET.length];
  return out;
}

const SEVERITY_COUNT_KEYS: Readonly<Record<ComplianceSeverity, string>> = {
  CRITICAL: 'CriticalCount', HIGH: 'HighCount', MEDIUM: 'MediumCount', LOW: 'LowCount', INFORMATIONAL: 'InformationalCount', UNSPECIFIED: 'UnspecifiedCount',
};

/** A stored summary in the SDK's `ResourceComplianceSummaryItem` shape. */
function complianceSummaryItem(c: StoredComplianceSummary): Record<string, unknown> {
  const counts = (pick: (s: ComplianceSeverity) => number) => Object.fromEntries(COMPLIANCE_SEVERITIES.map((s) => [SEVERITY_COUNT_KEYS[s], pick(s)]));
  const nonCompliantCount = COMPLIANCE_SEVERITIES.reduce((sum, s) => sum + (c.nonCompliant[s] ?? 0), 0);
  const worst = COMPLIANCE_SEVERITIES.find((s) => (c.nonCompliant[s] ?? 0) > 0) ?? 'UNSPECIFIED';
  return {
    ComplianceType: c.complianceType,
    ResourceType: 'ManagedInstance',
    ResourceId: c.instanceId,
    Status: nonCompliantCount > 0 ? 'NON_COMPLIANT' : 'COMPLIANT',
    OverallSeverity: worst,
    ExecutionSummary: { ExecutionTime: c.executionTime.getTime() / 1000 },
    CompliantSummary: { CompliantCount: c.compliantCount, SeveritySummary: counts((s) => (s === 'UNSPECIFIED' ? c.compliantCount : 0)) },
    NonCompliantSummary: { NonCompliantCount: nonCompliantCount, SeveritySummary: counts((s) => c.nonCompliant[s] ?? 0) },
  };
}

/** Built-in operation handlers. Later operations (DescribeActivations, DeleteActivation, ...) go here. */
export const DEFAULT_HANDLERS: Readonly<Record<string, OperationHandler>> = {
  CreateActivation: (input, stub) => {
    if (!input || typeof input.IamRole !== 'string' || input.IamRole.length === 0) {
      return { error: { status: 400, type: 'ValidationException', message: "1 validation error detected: Value null at 'iamRole' failed to satisfy constraint: Member must not be null" } };
    }
    const activation: StoredActivation = {
      ActivationId: randomUUID(),
      ActivationCode: randomActivationCode(),
      request: input,
      createdAt: Date.now(),
      registrationsCount: 0,
    };
    stub.state.activations.set(activation.ActivationId, activation);
    return { body: { ActivationId: activation.ActivationId, ActivationCode: activation.ActivationCode } };
  },

  DescribeActivations: (input, stub) => {
    const filters: { FilterKey: string; FilterValues: string[] }[] = input?.Filters ?? [];
    const all = [...stub.state.activations.values()].filter((a) =>
      filters.every((f) => {
        const value = f.FilterKey === 'ActivationIds' ? a.ActivationId
          : f.FilterKey === 'DefaultInstanceName' ? a.request?.DefaultInstanceName
          : f.FilterKey === 'IamRole' ? a.request?.IamRole : undefined;
        return value !== undefined && f.FilterValues.includes(value);
      }));
    const paged = page(all, input, { min: 1, max: 50, default: 50 });
    if ('error' in paged || 'body' in paged) return paged;
    return {
      body: {
        ActivationList: paged.items.map((a) => {
          const expiration = new Date(expirationOf(a));
          return {
            ActivationId: a.ActivationId,
            Description: a.request?.Description,
            DefaultInstanceName: a.request?.DefaultInstanceName,
            IamRole: a.request?.IamRole,
            RegistrationLimit: a.request?.RegistrationLimit ?? 1,
            RegistrationsCount: a.registrationsCount,
            ExpirationDate: expiration.getTime() / 1000,
            Expired: expiration.getTime() <= Date.now(),
            CreatedDate: a.createdAt / 1000,
            Tags: a.request?.Tags ?? [],
          };
        }),
        NextToken: paged.NextToken,
      },
    };
  },

  DeleteActivation: (input, stub) => {
    if (!stub.state.activations.delete(input?.ActivationId)) {
      return { error: { status: 400, type: 'InvalidActivation', message: 'The activation ID you specified is not valid.' } };
    }
    return { body: {} };
  },

  DescribeInstanceInformation: (input, stub) => {
    const filters: { Key: string; Values: string[] }[] = input?.Filters ?? [];
    const tagFilters = filters.filter((f) => f.Key.startsWith('tag:') || f.Key === 'tag-key');
    if (tagFilters.length > 0 && tagFilters.length < filters.length) {
      return validationError('Tag filters cannot be combined with other filter types');
    }
    if (filters.some((f) => !Array.isArray(f.Values) || f.Values.length < 1 || f.Values.length > 100)) {
      return validationError('Each filter takes 1 to 100 values');
    }
    const all = [...stub.state.nodes.values()].filter((n) => nodeMatches(n, filters));
    const paged = page(all, input, { min: 5, max: 50, default: 10 });
    if ('error' in paged || 'body' in paged) return paged;
    return {
      body: {
        InstanceInformationList: paged.items.map((n) => ({
          InstanceId: n.InstanceId,
          Name: n.Name,
          PingStatus: n.PingStatus,
          LastPingDateTime: n.LastPingDateTime.getTime() / 1000,
          ResourceType: n.ResourceType,
          ActivationId: n.ActivationId,
          RegistrationDate: n.RegistrationDate.getTime() / 1000,
          PlatformType: 'Linux',
        })),
        NextToken: paged.NextToken,
      },
    };
  },

  DeregisterManagedInstance: (input, stub) => {
    const id = input?.InstanceId;
    if (typeof id !== 'string' || !/^mi-[0-9a-f]{17}$/.test(id) || !stub.state.nodes.delete(id)) {
      return { error: { status: 400, type: 'InvalidInstanceId', message: 'The following supplied instance ids are not valid' } };
    }
    return { body: {} };
  },

  AddTagsToResource: (input, stub) => {
    if (input?.ResourceType !== 'ManagedInstance') return { error: { status: 400, type: 'InvalidResourceType', message: 'stub supports ManagedInstance only' } };
    const node = stub.state.nodes.get(input?.ResourceId);
    if (!node || !/^mi-[0-9a-f]{17}$/.test(node.InstanceId)) {
      return { error: { status: 400, type: 'InvalidResourceId', message: 'The resource ID is not valid. Verify that you entered the correct ID and try again.' } };
    }
    const tags: { Key: string; Value: string }[] = input?.Tags ?? [];
    const merged = new Map(node.tags);
    for (const t of tags) merged.set(t.Key, t.Value);
    if (merged.size > 50) return { error: { status: 400, type: 'TooManyTagsError', message: 'too many tags' } };
    for (const t of tags) node.tags.set(t.Key, t.Value);
    if (merged.has('Name')) node.Name = merged.get('Name');
    return { body: {} };
  },

  ListTagsForResource: (input, stub) => {
    if (input?.ResourceType !== 'ManagedInstance') return { error: { status: 400, type: 'InvalidResourceType', message: 'stub supports ManagedInstance only' } };
    const node = stub.state.nodes.get(input?.ResourceId);
    if (!node) return { error: { status: 400, type: 'InvalidResourceId', message: 'The resource ID is not valid.' } };
    return { body: { TagList: tagList(node.tags) } };
  },

  /**
   * Per-node compliance summaries (SSM-API; AWS-FACTS D.4): `MaxResults` 1–50, `Filters` with keys `ComplianceType`,
   * `Status` and `OverallSeverity` and type `EQUAL` (others are refused: the stub does not model them).
   */
  ListResourceComplianceSummaries: (input, stub) => {
    const filters: { Key: string; Values: string[]; Type?: string }[] = input?.Filters ?? [];
    if (filters.some((f) => !['ComplianceType', 'Status', 'OverallSeverity'].includes(f.Key) || (f.Type ?? 'EQUAL') !== 'EQUAL')) {
      return validationError('stub supports EQUAL filters on ComplianceType, Status and OverallSeverity only');
    }
    if (filters.some((f) => !Array.isArray(f.Values) || f.Values.length < 1 || f.Values.length > 20)) {
      return validationError('Each filter takes 1 to 20 values');
    }
    const all = stub.state.compliance.map(complianceSummaryItem).filter((item) => filters.every((f) => f.Values.includes(String(item[f.Key]))));
    const paged = page(all, input, { min: 1, max: 50, default: 50 });
    if ('error' in paged || 'body' in paged) return paged;
    return { body: { ResourceComplianceSummaryItems: paged.items, NextToken: paged.NextToken } };
  },

  /**
   * What amazon-ssm-agent calls on `-register` (not in the public SDK): checks the activation id and code, that it
   * has not expired and has registrations left, then registers a node as {@link SsmStub.register} does.
   */
  RegisterManagedInstance: (input, stub) => {
    const activation = stub.state.activations.get(input?.ActivationId);
    if (!activation || typeof input?.ActivationCode !== 'string' || input.ActivationCode !== activation.ActivationCode) {
      return { error: { status: 400, type: 'InvalidActivation', message: 'Activation ID or activation code is not valid.' } };
    }
    if (expirationOf(activation) <= Date.now()) return { error: { status: 400, type: 'InvalidActivation', message: 'Activation has expired.' } };
    if (activation.registrationsCount >= (activation.request?.RegistrationLimit ?? 1)) {
      return { error: { status: 400, type: 'InvalidActivation', message: 'Activation has reached its registration limit.' } };
    }
    return { body: { InstanceId: stub.register(activation.ActivationId).InstanceId } };
  },
};

export interface SsmStubOptions {
  /** Log every request to stderr (debugging). */
  readonly verbose?: boolean;
  /** Throttle every operation (but the exempt ones) to a fixed rate; default none. See `rateLimit()`. */
  readonly rateLimit?: RateLimit;
}

/** Token buckets of a {@link RateLimit}, one per operation. */
class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly burst: number;

  constructor(private readonly limit: RateLimit) {
    if (!(limit.tps > 0)) throw new Error(`ssm-stub: rate limit tps must be > 0, got ${limit.tps}`);
    this.burst = limit.burst ?? Math.ceil(limit.tps);
    if (!(this.burst >= 1)) throw new Error(`ssm-stub: rate limit burst must be >= 1, got ${limit.burst}`);
  }

  /** Takes a token for `operation`; false when its bucket is empty (the request is throttled). */
  public take(operation: string, now = performance.now()): boolean {
    if (this.limit.exempt?.includes(operation)) return true;
    const bucket = this.buckets.get(operation) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.limit.tps);
    bucket.at = now;
    this.buckets.set(operation, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}

export class SsmStub {
  /** Every request received, in order (including faulted ones). */
  public readonly requests: RecordedRequest[] = [];
  public readonly state: SsmStubState = { activations: new Map(), nodes: new Map(), compliance: [] };

  private server?: http.Server;
  private endpoint?: string;
  private readonly handlers = new Map<string, OperationHandler>(Object.entries(DEFAULT_HANDLERS));
  private readonly queues = new Map<string, FaultSpec[]>();
  private readonly persistent = new Map<string, FaultSpec>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly sockets = new Set<Socket>();
  private limiter?: RateLimiter;

  constructor(private readonly options: SsmStubOptions = {}) {
    this.limiter = options.rateLimit ? new RateLimiter(options.rateLimit) : undefined;
  }

  /** Sets (or, with `undefined`, removes) the rate limit; buckets start full. `reset()` goes back to the option's. */
  public rateLimit(limit: RateLimit | undefined): this {
    this.limiter = limit ? new RateLimiter(limit) : undefined;
    return this;
  }

  /** Starts listening on 127.0.0.1 (random port); resolves to the endpoint URL (`http://127.0.0.1:<port>`). */
  public async start(): Promise<string> {
    if (this.endpoint) return this.endpoint;
    const server = http.createServer((req, res) => this.onRequest(req, res));
    server.keepAliveTimeout = 5000;
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.endpoint;
  }

  /** The endpoint URL; throws if not started. */
  public get url(): string {
    if (!this.endpoint) throw new Error('SsmStub is not started; call start() first');
    return this.endpoint;
  }

  /** Stops the server, dropping open (keep-alive) connections and pending delayed answers. */
  public async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const server = this.server;
    this.server = undefined;
    this.endpoint = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await closed;
  }

  /** Clears the request log, fault scripts, stored state and handler overrides. The server keeps running. */
  public reset(): void {
    this.requests.length = 0;
    this.queues.clear();
    this.persistent.clear();
    this.state.activations.clear();
    this.state.nodes.clear();
    this.state.compliance.length = 0;
    this.handlers.clear();
    for (const [op, h] of Object.entries(DEFAULT_HANDLERS)) this.handlers.set(op, h);
    this.rateLimit(this.options.rateLimit);
  }

  /** Seeds a managed node (default: an online hybrid node without tags); returns it. */
  public addNode(seed: NodeSeed = {}): StoredNode {
    const resourceType = seed.resourceType ?? 'ManagedInstance';
    const node: StoredNode = {
      InstanceId: seed.instanceId ?? (resourceType === 'ManagedInstance' ? randomManagedInstanceId() : `i-${randomBytes(9).toString('hex').slice(0, 17)}`),
      Name: seed.name ?? seed.tags?.Name,
      PingStatus: seed.pingStatus ?? 'Online',
      LastPingDateTime: seed.lastPing ?? new Date(),
      ResourceType: resourceType,
      ActivationId: seed.activationId,
      RegistrationDate: new Date(),
      tags: new Map(Object.entries(seed.tags ?? {})),
    };
    if (seed.name !== undefined && !node.tags.has('Name')) node.tags.set('Name', seed.name);
    this.state.nodes.set(node.InstanceId, node);
    return node;
  }

  /**
   * Seeds a node's compliance summary for one type (replacing an earlier one of that node and type): compliant
   * unless `nonCompliant` counts items of some severity.
   */
  public addCompliance(
    instanceId: string,
    complianceType: string,
    nonCompliant: Partial<Record<ComplianceSeverity, number>> = {},
    options: { readonly compliantCount?: number; readonly executionTime?: Date } = {},
  ): StoredComplianceSummary {
    const summary: StoredComplianceSummary = {
      instanceId, complianceType, nonCompliant: { ...nonCompliant },
      compliantCount: options.compliantCount ?? 1, executionTime: options.executionTime ?? new Date(),
    };
    const index = this.state.compliance.findIndex((c) => c.instanceId === instanceId && c.complianceType === complianceType);
    if (index >= 0) this.state.compliance[index] = summary;
    else this.state.compliance.push(summary);
    return summary;
  }

  /** Seeds an activation as if created earlier (for janitor tests); returns it. */
  public addActivation(seed: ActivationSeed = {}): StoredActivation {
    const createdAt = (seed.createdDate ?? new Date()).getTime();
    const activation: StoredActivation = {
      ActivationId: seed.activationId ?? randomUUID(),
      ActivationCode: randomActivationCode(),
      request: {
        DefaultInstanceName: seed.name,
        IamRole: seed.iamRole ?? 'HybridFleetInstanceRole',
        RegistrationLimit: seed.registrationLimit ?? 1,
        ExpirationDate: (seed.expirationDate ?? new Date(Date.now() + 3_600_000)).toISOString(),
        Tags: tagList(seed.tags ?? {}),
      },
      createdAt,
      registrationsCount: seed.registrationsCount ?? 0,
    };
    this.state.activations.set(activation.ActivationId, activation);
    return activation;
  }

  /**
   * Simulates a machine registering with an activation: counts the registration and creates an online hybrid node
   * named after the activation's default instance name, carrying the activation's tags (as SSM copies them).
   */
  public register(activationId: string, seed: Omit<NodeSeed, 'activationId' | 'tags' | 'name'> = {}): StoredNode {
    const activation = this.state.activations.get(activationId);
    if (!activation) throw new Error(`ssm-stub: no activation ${activationId}`);
    activation.registrationsCount += 1;
    return this.addNode({ ...seed, activationId, name: activation.request?.DefaultInstanceName, tags: activationTags(activation) });
  }

  /** Adds or replaces the handler of an operation. */
  public handle(operation: string, handler: OperationHandler): this {
    this.handlers.set(operation, handler);
    return this;
  }

  /** The next `count` requests of `operation` get `fault` (appended after already scripted steps). */
  public failNext(operation: string, count: number, fault: FaultSpec): this {
    return this.script(operation, Array.from({ length: count }, () => fault));
  }

  /** The next `count` requests of `operation` are answered normally after `delayMs`. */
  public delayNext(operation: string, count: number, delayMs: number): this {
    return this.failNext(operation, count, Faults.delay(delayMs));
  }

  /** The next `count` requests of `operation` have their connection destroyed (after `delayMs`). */
  public destroyNext(operation: string, count: number, delayMs = 0): this {
    return this.failNext(operation, count, Faults.destroy(delayMs));
  }

  /** Appends steps, one per request, to the script of `operation`. */
  public script(operation: string, steps: readonly FaultSpec[]): this {
    const queue = this.queues.get(operation) ?? [];
    queue.push(...steps);
    this.queues.set(operation, queue);
    return this;
  }

  /** Every request of `operation` gets `fault` once its script is used up, until `clearFaults`/`reset`. */
  public failAlways(operation: string, fault: FaultSpec): this {
    this.persistent.set(operation, fault);
    return this;
  }

  /** Drops scripted and persistent faults (of one operation, or all). */
  public clearFaults(operation?: string): this {
    if (operation === undefined) {
      this.queues.clear();
      this.persistent.clear();
    } else {
      this.queues.delete(operation);
      this.persistent.delete(operation);
    }
    return this;
  }

  /** Steps still queued for `operation`. */
  public pending(operation: string): number {
    return this.queues.get(operation)?.length ?? 0;
  }

  /** Requests of one operation. */
  public requestsFor(operation: string): RecordedRequest[] {
    return this.requests.filter((r) => r.operation === operation);
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => undefined);
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.startsWith('AmazonSSM.') ? target.slice('AmazonSSM.'.length) : '';
      let body: any;
      try {
        body = rawBody.length ? JSON.parse(rawBody) : {};
      } catch {
        body = undefined;
      }
      const record: RecordedRequest = { operation, body, rawBody, headers: req.headers, receivedAt: Date.now() };
      this.requests.push(record);
      if (this.options.verbose) process.stderr.write(`[ssm-stub] ${req.method} ${req.url} ${target} ${rawBody}\n`);
      void this.answer(req, res, record).catch((err) => {
        if (!res.headersSent && !res.destroyed) {
          this.send(res, record, 500, { __type: 'InternalServerError', message: `stub failure: ${String(err)}` });
        }
      });
    });
  }

  private async answer(req: http.IncomingMessage, res: http.ServerResponse, record: RecordedRequest): Promise<void> {
    if (req.method !== 'POST' || (req.url ?? '/').split('?')[0] !== '/') {
      return this.send(res, record, 404, { __type: 'UnknownOperationException', message: `no route ${req.method} ${req.url}` });
    }
    const op = record.operation;
    if (this.limiter && !this.limiter.take(op)) {
      record.rateLimited = true;
      return this.sendError(res, record, Faults.throttling());
    }
    const step = this.queues.get(op)?.shift() ?? this.persistent.get(op);

    if (step?.delayMs) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.timers.delete(t);
          resolve();
        }, step.delayMs);
        this.timers.add(t);
      });
      if (!this.server || res.destroyed || req.socket.destroyed) {
        record.outcome = 'aborted';
        return;
      }
    }
    if (step?.destroy) {
      record.outcome = 'destroyed';
      req.socket.destroy();
      return;
    }
    if (step && !step.passthrough) {
      return this.sendError(res, record, step);
    }

    const handler = this.handlers.get(op);
    if (!handler) {
      return this.send(res, record, 400, { __type: 'UnknownOperationException', message: `stub has no handler for '${op}'` });
    }
    if (record.body === undefined) {
      return this.send(res, record, 400, { __type: 'SerializationException', message: 'body is not JSON' });
    }
    const result = await handler(record.body, this);
    if ('error' in result) return this.sendError(res, record, result.error);
    return this.send(res, record, 200, result.body, step?.headers);
  }

  private sendError(res: http.ServerResponse, record: RecordedRequest, fault: FaultSpec): void {
    const type = fault.type ?? 'InternalServerError';
    const status = fault.status ?? (type === 'InternalServerError' ? 500 : 400);
    record.errorType = type;
    this.send(res, record, status, { __type: type, message: fault.message ?? `${type} injected by ssm-stub` }, fault.headers);
  }

  private send(
    res: http.ServerResponse,
    record: RecordedRequest,
    status: number,
    body: unknown,
    headers: Readonly<Record<string, string>> = {},
  ): void {
    if (res.destroyed) {
      record.outcome = 'aborted';
      return;
    }
    const text = JSON.stringify(body ?? {});
    record.outcome = status === 200 ? 'ok' : 'error';
    record.status = status;
    res.writeHead(status, {
      'Content-Type': 'application/x-amz-json-1.1',
      'Content-Length': Buffer.byteLength(text),
      'x-amzn-RequestId': randomUUID(),
      ...headers,
    });
    res.end(text);
  }
}

/** Creates and starts a stub; resolves to the running stub (its URL is `stub.url`). */
export async function startSsmStub(options?: SsmStubOptions): Promise<SsmStub> {
  const stub = new SsmStub(options);
  await stub.start();
  return stub;
}
