/**
 * The request deadline: the one piece of request-scoped state the adapters read. It lives in an
 * AsyncLocalStorage so that it reaches them through the core (the use cases, the session cache, the
 * JWT verifier) without every signature carrying it; http/lambdaHandler.ts sets it once per invocation.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * A request's time budget: the function's remaining time less a margin, so the broker answers an
 * honest 504 before Lambda kills it. Every upstream call of the request (JWKS and OIDC discovery
 * fetches, STS attempts, S3 multipart calls) waits at most min(its own timeout, `remainingMs()`),
 * and starts no new attempt when less than MIN_UPSTREAM_ATTEMPT_MS is left.
 */
export interface Deadline {
  /** Milliseconds left (negative once passed); monotonic, unaffected by a mocked Date. */
  remainingMs(): number;
  /** Aborts when the budget runs out: pass it to every upstream call. */
  readonly signal: AbortSignal;
}

/** Subtracted from the function's remaining time: room to map the error, log and answer. */
export const DEADLINE_MARGIN_MS = 1000;
/** An upstream attempt with less time than this left is not started: it could not succeed. */
export const MIN_UPSTREAM_ATTEMPT_MS = 200;

/** A deadline `budgetMs` from now (≤ 0: already passed). */
export function deadlineIn(budgetMs: number): Deadline {
  const end = performance.now() + budgetMs;
  let signal: AbortSignal | undefined;
  return {
    remainingMs: () => end - performance.now(),
    // Made on first use, for the same end: most requests (a cached session signing a URL) make no
    // upstream call, and a timer per request is a measurable share of such a request.
    get signal(): AbortSignal {
      if (signal === undefined) {
        const left = end - performance.now();
        signal = left > 0 ? AbortSignal.timeout(Math.ceil(left)) : AbortSignal.abort(new DOMException('request deadline passed', 'TimeoutError'));
      }
      return signal;
    },
  };
}

/**
 * The request deadline lives in an AsyncLocalStorage so that it reaches the adapters through the
 * core (vendCredentials, the session cache, the JWT verifier) without every signature carrying it;
 * the handler sets it once per invocation (http/lambdaHandler.ts).
 */
const requestDeadline = new AsyncLocalStorage<Deadline | undefined>();

/** Runs `fn` with `deadline` as the current request's deadline (undefined: the adapters' own timeouts alone apply). */
export function runWithDeadline<T>(deadline: Deadline | undefined, fn: () => Promise<T>): Promise<T> {
  return requestDeadline.run(deadline, fn);
}

/** The current request's deadline, if the handler set one. */
export function currentDeadline(): Deadline | undefined {
  return requestDeadline.getStore();
}

/**
 * How long an upstream attempt may take now: min(`settingMs`, time left). Throws `onExhausted()`
 * when less than MIN_UPSTREAM_ATTEMPT_MS is left, so no attempt starts that could not finish.
 */
export function attemptTimeoutMs(settingMs: number, onExhausted: () => Error): number {
  const deadline = currentDeadline();
  if (deadline === undefined) return settingMs;
  const left = Math.floor(deadline.remainingMs());
  if (left < MIN_UPSTREAM_ATTEMPT_MS) throw onExhausted();
  return Math.min(settingMs, left);
}
