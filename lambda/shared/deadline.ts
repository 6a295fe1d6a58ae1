/**
 * Request deadlines (docs/handler-contract.md, "Deadlines"): a handler answers `503` + `Retry-After` before Lambda
 * times it out, instead of leaving API Gateway to answer `502`. The adapter starts a {@link Deadline} from
 * `context.getRemainingTimeInMillis()` minus a safety margin; the core asks it how much time is left, and every SDK
 * call carries its `signal`, which aborts once the budget is gone.
 */

/** Time kept back from the Lambda timeout for answering and logging, in milliseconds. */
export const SAFETY_MARGIN_MS = 2000;

/** The time budget of one request, as the core sees it. */
export interface Budget {
  /** Milliseconds left (≤ 0 once the budget is gone). */
  remainingMs(): number;
}

/** The budget ran out (thrown by the core and by {@link withinDeadline}); the request is answered `503`. */
export class DeadlineExceeded extends Error {
  override readonly name = 'DeadlineExceeded';
  constructor() {
    super('the request ran out of time');
  }
}

/** A budget that never runs out (tests, and callers without a Lambda context). */
export const UNLIMITED: Budget = { remainingMs: () => Number.POSITIVE_INFINITY };

/** Whether an error comes from the budget running out: {@link DeadlineExceeded}, or an SDK call aborted by it. */
export function isDeadlineError(err: unknown, budget: Budget): boolean {
  if (err instanceof DeadlineExceeded) return true;
  const name = typeof err === 'object' && err !== null ? (err as { name?: unknown }).name : undefined;
  return name === 'AbortError' || name === 'DeadlineExceeded' || (name === 'TimeoutError' && budget.remainingMs() <= 0);
}

/** A running budget with an abort signal; `dispose()` clears its timer. */
export interface Deadline extends Budget {
  readonly signal: AbortSignal;
  dispose(): void;
}

/**
 * Starts a deadline `remainingMs - marginMs` from now (`clock` in milliseconds); its signal aborts then. A budget of
 * zero or less is gone at once.
 */
export function startDeadline(remainingMs: number, marginMs = SAFETY_MARGIN_MS, clock: () => number = Date.now): Deadline {
  const budgetMs = Math.max(0, remainingMs - marginMs);
  const endsAt = clock() + budgetMs;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DeadlineExceeded()), budgetMs);
  timer.unref?.();
  return {
    signal: controller.signal,
    remainingMs: () => endsAt - clock(),
    dispose: () => clearTimeout(timer),
  };
}

/**
 * Runs `call` with the signal and settles no later than the signal aborts (rejecting with {@link DeadlineExceeded}),
 * even if `call` ignores the signal (e.g. during an SDK retry backoff).
 */
export async function withinDeadline<T>(signal: AbortSignal, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  if (signal.aborted) throw new DeadlineExceeded();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new DeadlineExceeded());
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([call(signal), aborted]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}
