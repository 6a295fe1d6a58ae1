/**
 * Runs a BUNDLED handler (`assets/<name>/index.js`) in a child node process, like a Lambda execution environment,
 * for the end-to-end tests (test/e2e). No jest imports. {@link startHandlerProcess} starts a process of its own;
 * {@link HandlerPool} reuses processes across sessions (a fresh module instance and environment each time).
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

/** Marks, on the host's stdout and stderr, the end of a session's output (NUL never appears in a handler's output). */
const END_MARK = '\u0000E2E-SESSION-END\u0000';

/**
 * Host process source. A host runs one session at a time; a session is one "execution environment": the host sets
 * `process.env` to exactly the session's environment, then evaluates the bundle afresh (a new module instance, so a
 * new SDK client, rate limiter and module-scope caches; a bad environment makes the evaluation throw: reported as
 * `loadError`), then answers `invoke` messages by calling `handler(event, context)`. `end` drops the module and writes
 * END_MARK on stdout and stderr (both synchronous on a Linux pipe), so the parent can tell the session's output from
 * the next one's. Exits when the parent disconnects. The context's `getRemainingTimeInMillis()` counts down from
 * `msg.timeoutMs` when the message has one, else answers 10000.
 */
const HOST_SOURCE = `(() => {
  const Module = require('node:module');
  let handler;
  let bundle;
  process.on('disconnect', () => process.exit(0));
  process.on('message', async (msg) => {
    if (msg.type === 'start') {
      for (const key of Object.keys(process.env)) if (!(key in msg.env)) delete process.env[key];
      Object.assign(process.env, msg.env);
      bundle = require.resolve(msg.bundle);
      delete require.cache[bundle];
      try {
        // A throwaway parent module per session: nothing keeps the previous session's module instance alive.
        handler = Module.createRequire(bundle)(bundle).handler;
        if (typeof handler !== 'function') throw new Error('the bundle does not export handler()');
      } catch (err) {
        handler = undefined;
        process.send({ type: 'loadError', message: String((err && err.message) || err) });
        return;
      }
      process.send({ type: 'ready' });
    } else if (msg.type === 'end') {
      handler = undefined;
      if (bundle !== undefined) delete require.cache[bundle];
      process.stdout.write(${JSON.stringify(END_MARK)});
      process.stderr.write(${JSON.stringify(END_MARK)});
    } else if (msg.type === 'invoke') {
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
    }
  });
  process.send({ type: 'host' });
})();`;

/** The bundled handler running in its own node process; `R` is what its handler resolves to (API Gateway by default). */
export interface HandlerProcess<R = APIGatewayProxyResult> {
  /** Calls `handler(event, context)` in the child (the context's functions are re-created there). */
  invoke(event: unknown, context: Context): Promise<R>;
  /** Everything the process wrote to stdout and stderr so far (complete after `close()`). */
  output(): string;
  /** Ends the session (a process of its own: disconnects and waits for it to exit) and waits for its output. Safe to call twice. */
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

type Pending = { resolve: (r: any) => void; reject: (e: Error) => void };

/** A long-lived node process that runs sessions of a bundle one after the other (see HOST_SOURCE). */
class HandlerHost {
  /** Spawns a host with this process's environment minus every `AWS_*` variable and `NODE_OPTIONS`. */
  static async spawn(): Promise<HandlerHost> {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const key of Object.keys(env)) if (key.startsWith('AWS_') || key === 'NODE_OPTIONS') delete env[key];
    const host = new HandlerHost(spawn(process.execPath, ['-e', HOST_SOURCE], { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] }));
    await host.started;
    return host;
  }

  /** Sessions run so far. */
  public sessions = 0;
  public alive = true;
  private readonly started: Promise<void>;
  private readonly exited: Promise<void>;
  /** The current session's output, in arrival order. */
  private chunks: string[] = [];
  /** Per stream, text held back because it may start END_MARK. */
  private readonly held = { out: '', err: '' };
  /** Per stream, whether END_MARK of the ending session has arrived. */
  private readonly marked = { out: false, err: false };
  private onMarks?: () => void;
  private readonly pending = new Map<string, Pending>();
  private onSession?: (msg: any) => void;

  private constructor(private readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8').on('data', (c: string) => this.data('out', c));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => this.data('err', c));
    // Not the 'close' event: it never fires once the parent has disconnected the IPC channel.
    const ended = (stream: NodeJS.ReadableStream) => new Promise<void>((resolve) => stream.once('end', () => resolve()));
    this.exited = Promise.all([
      new Promise<void>((resolve) => child.once('exit', () => resolve())),
      ended(child.stdout!),
      ended(child.stderr!),
    ]).then(() => undefined);
    this.started = new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`handler process exited (${code}) before it was ready:\n${this.chunks.join('')}`)));
    });
    child.on('exit', (code, signal) => {
      this.alive = false;
      this.failPending(`exited (${code ?? signal})`);
      this.onSession?.({ type: 'exit', message: `handler process exited (${code ?? signal}) before it was ready:\n${this.chunks.join('')}` });
    });
    child.on('message', (msg: any) => {
      if (msg?.type === 'ready' || msg?.type === 'loadError') {
        this.onSession?.(msg);
        return;
      }
      const p = this.pending.get(msg?.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.type === 'result') p.resolve(msg.result);
      else p.reject(new Error(`handler threw: ${msg.message}`));
    });
  }

  private data(stream: 'out' | 'err', chunk: string): void {
    let text = this.held[stream] + chunk;
    this.held[stream] = '';
    const mark = text.indexOf(END_MARK);
    if (mark >= 0) {
      if (mark > 0) this.chunks.push(text.slice(0, mark));
      this.marked[stream] = true;
      if (this.marked.out && this.marked.err) this.onMarks?.();
      text = text.slice(mark + END_MARK.length);
    }
    const nul = text.indexOf('\u0000');
    if (nul >= 0 && END_MARK.startsWith(text.slice(nul, nul + END_MARK.length))) {
      this.held[stream] = text.slice(nul);
      text = text.slice(0, nul);
    }
    if (text.length > 0) this.chunks.push(text);
  }

  private failPending(why: string): void {
    for (const p of this.pending.values()) p.reject(new Error(`handler process ${why}; output:\n${this.chunks.join('')}`));
    this.pending.clear();
  }

  /**
   * Starts a session: the bundle with exactly `env` as `process.env`. Rejects with the load error when the bundle
   * throws at cold start (the host stays usable). `onEnd(reusable)` is called once the session is closed.
   */
  async session<R>(bundle: string, env: NodeJS.ProcessEnv, options: HandlerProcessOptions, onEnd: (reusable: boolean) => Promise<void>): Promise<HandlerProcess<R>> {
    this.sessions++;
    this.chunks = [];
    this.marked.out = this.marked.err = false;
    const chunks = this.chunks;
    const endSession = async (): Promise<boolean> => {
      if (!this.alive) return false;
      if (this.pending.size > 0) {
        // Still running: a fresh process is the only clean state for the next session.
        this.failPending('closed with an invocation in flight');
        await this.kill();
        return false;
      }
      const marks = new Promise<void>((resolve) => (this.onMarks = resolve));
      this.child.send({ type: 'end' });
      const timer = setTimeout(() => void this.kill(), 5000);
      await Promise.race([marks, this.exited]);
      clearTimeout(timer);
      this.onMarks = undefined;
      return this.alive;
    };
    const loaded = new Promise<any>((resolve) => (this.onSession = resolve));
    this.child.send({ type: 'start', bundle, env });
    const msg = await loaded;
    this.onSession = undefined;
    if (msg.type !== 'ready') {
      await onEnd(await endSession());
      throw new Error(msg.message ?? `unexpected message ${JSON.stringify(msg)}`);
    }
    let closing: Promise<void> | undefined;
    return {
      invoke: (event, context) =>
        new Promise<R>((resolve, reject) => {
          if (closing !== undefined || !this.alive) {
            reject(new Error(`handler process ${this.alive ? 'closed' : 'exited'}; output:\n${chunks.join('')}`));
            return;
          }
          const id = randomUUID();
          this.pending.set(id, { resolve, reject });
          const { awsRequestId, functionName, functionVersion, invokedFunctionArn, memoryLimitInMB, logGroupName, logStreamName } = context;
          this.child.send({
            type: 'invoke',
            id,
            event,
            context: { awsRequestId, functionName, functionVersion, invokedFunctionArn, memoryLimitInMB, logGroupName, logStreamName },
            timeoutMs: options.timeoutMs,
          });
        }),
      output: () => chunks.join(''),
      close: () => (closing ??= endSession().then(onEnd)),
    };
  }

  /** Disconnects and waits for the process to exit and its output to be read. */
  async kill(): Promise<void> {
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** The environment of a handler: this process's minus every `AWS_*` variable and `NODE_OPTIONS`, plus `env`. */
function handlerEnv(bundle: string, env: Readonly<Record<string, string | undefined>>): NodeJS.ProcessEnv {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(childEnv)) if (key.startsWith('AWS_') || key === 'NODE_OPTIONS') delete childEnv[key];
  for (const [key, value] of Object.entries({ ...env, E2E_BUNDLE: bundle })) {
    if (value === undefined) delete childEnv[key];
    else childEnv[key] = value;
  }
  return childEnv;
}

/**
 * Starts `bundle` in a child process of its own (a real cold start). Its environment is this process's minus every
 * `AWS_*` variable and `NODE_OPTIONS`, plus `env` (`undefined` removes a variable). Rejects with the load error when
 * the bundle throws at cold start. `R` is what the handler resolves to (passed through as JSON).
 */
export async function startHandlerProcess<R = APIGatewayProxyResult>(
  bundle: string,
  env: Readonly<Record<string, string | undefined>>,
  options: HandlerProcessOptions = {},
): Promise<HandlerProcess<R>> {
  const host = await HandlerHost.spawn();
  return host.session<R>(bundle, handlerEnv(bundle, env), options, () => host.kill());
}

/**
 * Handler processes for a test file, reused: {@link HandlerPool.start} is {@link startHandlerProcess}, except that a
 * closed session's process runs the next session instead of exiting. Each session is still an execution environment
 * of its own: exactly its environment in `process.env`, the bundle evaluated afresh (new module scope: SDK client,
 * rate limiter, caches), its own output. Sessions open at the same time run in different processes. Saves a node
 * start and a cold compile per session (about 0.3 s of CPU). {@link HandlerPool.close} when done.
 */
export class HandlerPool {
  private readonly idle: HandlerHost[] = [];
  private readonly all = new Set<HandlerHost>();

  /** @param maxSessions sessions a process runs before it is replaced (bounds what a session may leave behind). */
  constructor(private readonly maxSessions = 40) {}

  async start<R = APIGatewayProxyResult>(
    bundle: string,
    env: Readonly<Record<string, string | undefined>>,
    options: HandlerProcessOptions = {},
  ): Promise<HandlerProcess<R>> {
    let host = this.idle.pop();
    while (host !== undefined && !host.alive) host = this.idle.pop();
    if (host === undefined) {
      host = await HandlerHost.spawn();
      this.all.add(host);
    }
    const h = host;
    return h.session<R>(bundle, handlerEnv(bundle, env), options, async (reusable) => {
      if (reusable && h.sessions < this.maxSessions) {
        this.idle.push(h);
      } else {
        this.all.delete(h);
        await h.kill();
      }
    });
  }

  /** Ends every process of the pool (open sessions included). */
  async close(): Promise<void> {
    this.idle.length = 0;
    await Promise.all([...this.all].map((h) => h.kill()));
    this.all.clear();
  }
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
