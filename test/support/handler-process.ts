/**
 * Runs a BUNDLED handler (`assets/<name>/index.js`) in a child node process, like a Lambda execution environment,
 * for the end-to-end tests (test/e2e). No jest imports.
 *
 * Why a child process and not jest's module sandbox: in the sandbox, errors created by Node itself (`socket hang up`,
 * ECONNRESET) come from another realm, fail the SDK's `instanceof Error` check and reach the handler as a generic
 * "AWS SDK error wrapper" `Error`, which no real Lambda would ever see. A child process also gives each test its own
 * module-scope SSM client (the adaptive retry rate limiter of one test can't slow down the next), its own
 * environment, and its real stdout/stderr for the log assertions. The SSM stub stays in the test process; the child
 * talks to it over loopback (`AWS_ENDPOINT_URL_SSM`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyResult, Context } from 'aws-lambda';

/**
 * Child process source: loads the bundle (a bad environment makes the require throw: reported as `loadError`),
 * then answers `invoke` messages by calling `handler(event, context)`. Exits when the parent disconnects. The
 * context's `getRemainingTimeInMillis()` counts down from `msg.timeoutMs` when the message has one, else answers 10000.
 */
const CHILD_SOURCE = `(() => {
  let handler;
  try {
    handler = require(process.env.E2E_BUNDLE).handler;
    if (typeof handler !== 'function') throw new Error('the bundle does not export handler()');
  } catch (err) {
    process.send({ type: 'loadError', message: String((err && err.message) || err) }, () => process.disconnect());
    return;
  }
  process.on('disconnect', () => process.exit(0));
  process.on('message', async (msg) => {
    const deadline = typeof msg.timeoutMs === 'number' ? Date.now() + msg.timeoutMs : undefined;
    const context = Object.assign({}, msg.context, {
      getRemainingTimeInMillis: () => (deadline === undefined ? 10000 : Math.max(0, deadline - Date.now())),
      done() {}, fail() {}, succeed() {},
    });
    try {
      const result = await handler(msg.event, context);
      process.send({ type: 'result', id: msg.id, result });
    } catch (err) {
      process.send({ type: 'threw', id: msg.id, message: String((err && err.stack) || err) });
    }
  });
  process.send({ type: 'ready' });
})();`;

/** The bundled handler running in its own node process; `R` is what its handler resolves to (API Gateway by default). */
export interface HandlerProcess<R = APIGatewayProxyResult> {
  /** Calls `handler(event, context)` in the child (the context's functions are re-created there). */
  invoke(event: unknown, context: Context): Promise<R>;
  /** Everything the process wrote to stdout and stderr so far (complete after `close()`). */
  output(): string;
  /** Disconnects and waits for the process to exit and its output to be read. Safe to call twice. */
  close(): Promise<void>;
}

/** Options of {@link startHandlerProcess}. */
export interface HandlerProcessOptions {
  /**
   * The function timeout, in milliseconds: each invocation's `context.getRemainingTimeInMillis()` counts down from it,
   * from when the child receives the invocation. Default: none, `getRemainingTimeInMillis()` always answers 10000.
   */
  readonly timeoutMs?: number;
}

/**
 * Starts `bundle` in a child process. Its environment is this process's minus every `AWS_*` variable and
 * `NODE_OPTIONS`, plus `env` (`undefined` removes a variable). Rejects with the load error when the bundle throws
 * at cold start. `R` is what the handler resolves to (passed through as JSON).
 */
export async function startHandlerProcess<R = APIGatewayProxyResult>(
  bundle: string,
  env: Readonly<Record<string, string | undefined>>,
  options: HandlerProcessOptions = {},
): Promise<HandlerProcess<R>> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(childEnv)) if (key.startsWith('AWS_') || key === 'NODE_OPTIONS') delete childEnv[key];
  for (const [key, value] of Object.entries({ ...env, E2E_BUNDLE: bundle })) {
    if (value === undefined) delete childEnv[key];
    else childEnv[key] = value;
  }
  const child: ChildProcess = spawn(process.execPath, ['-e', CHILD_SOURCE], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  const chunks: string[] = [];
  child.stdout!.setEncoding('utf8').on('data', (c: string) => chunks.push(c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => chunks.push(c));
  // Not the 'close' event: it never fires once the parent has disconnected the IPC channel.
  const ended = (stream: NodeJS.ReadableStream) => new Promise<void>((resolve) => stream.once('end', () => resolve()));
  const exited = Promise.all([
    new Promise<void>((resolve) => child.once('exit', () => resolve())),
    ended(child.stdout!),
    ended(child.stderr!),
  ]);
  const pending = new Map<string, { resolve: (r: R) => void; reject: (e: Error) => void }>();
  const died = (why: string) => {
    for (const p of pending.values()) p.reject(new Error(`handler process ${why}; output:\n${chunks.join('')}`));
    pending.clear();
  };
  child.on('exit', (code, signal) => died(`exited (${code ?? signal})`));

  await new Promise<void>((resolve, reject) => {
    child.once('message', (msg: any) => {
      if (msg?.type === 'ready') resolve();
      else reject(new Error(msg?.message ?? `unexpected message ${JSON.stringify(msg)}`));
    });
    child.once('exit', (code) => reject(new Error(`handler process exited (${code}) before it was ready:\n${chunks.join('')}`)));
  });
  child.on('message', (msg: any) => {
    const p = pending.get(msg?.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.type === 'result') p.resolve(msg.result);
    else p.reject(new Error(`handler threw: ${msg.message}`));
  });

  return {
    invoke: (event, context) =>
      new Promise((resolve, reject) => {
        const id = randomUUID();
        pending.set(id, { resolve, reject });
        const { awsRequestId, functionName, functionVersion, invokedFunctionArn, memoryLimitInMB, logGroupName, logStreamName } = context;
        child.send({
          id,
          event,
          context: { awsRequestId, functionName, functionVersion, invokedFunctionArn, memoryLimitInMB, logGroupName, logStreamName },
          timeoutMs: options.timeoutMs,
        });
      }),
    output: () => chunks.join(''),
    close: async () => {
      if (child.connected) child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A response header, case-insensitively. */
export function headerOf(res: APIGatewayProxyResult, name: string): string | undefined {
  const entry = Object.entries(res.headers ?? {}).find(([k]) => k.toLowerCase() === name.toLowerCase());
  return entry === undefined ? undefined : String(entry[1]);
}

/** The JSON lines of a handler's output (other lines, such as SDK warnings, are skipped). */
export function jsonLines(output: string): any[] {
  return output
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        return undefined;
      }
    })
    .filter((l) => l !== undefined);
}
