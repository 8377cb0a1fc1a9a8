import { BrokerError, S3Error } from './errors.js';

/** How calls are retried. Only 429 and 503 answers are retried (and network errors on idempotent calls). */
export interface RetryOptions {
  /** Attempts in all, the first included (default 3; 1 turns retries off). */
  maxAttempts?: number;
  /** No retry starts once this much time has passed since the first attempt, nor waits past it (default 60 000 ms). */
  maxElapsedMs?: number;
  /** First backoff when the answer has no Retry-After (default 300 ms, doubled each time, with jitter). */
  baseDelayMs?: number;
  /** Longest single wait; a Retry-After above it is not waited for: the error is thrown (default 30 000 ms). */
  maxDelayMs?: number;
}

export interface ResolvedRetry {
  maxAttempts: number;
  maxElapsedMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** `retries` as a number is the number of retries after the first attempt (0: none). */
export function resolveRetry(retries: number | RetryOptions | undefined): ResolvedRetry {
  const options: RetryOptions = typeof retries === 'number' ? { maxAttempts: retries + 1 } : (retries ?? {});
  const maxAttempts = Math.max(1, Math.floor(options.maxAttempts ?? 3));
  return {
    maxAttempts,
    maxElapsedMs: Math.max(0, options.maxElapsedMs ?? 60_000),
    baseDelayMs: Math.max(0, options.baseDelayMs ?? 300),
    maxDelayMs: Math.max(0, options.maxDelayMs ?? 30_000),
  };
}

/** The signal's reason, as a throwable (an AbortError DOMException unless the caller gave another reason). */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

export function isAbortError(error: unknown, signal?: AbortSignal): boolean {
  if (signal?.aborted && error === signal.reason) return true;
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError';
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Whether an error may be retried: 429/503 from the broker or S3; a network error only when the call is idempotent. */
export function isRetryable(error: unknown, idempotent: boolean): boolean {
  if (error instanceof BrokerError) return error.status === 429 || error.status === 503;
  if (error instanceof S3Error) return error.status === 429 || error.status === 503;
  if (isAbortError(error)) return false;
  // fetch rejects with a TypeError when the network fails (connection refused or reset, DNS, CORS in browsers)
  return idempotent && error instanceof TypeError;
}

function retryAfterMs(error: unknown): number | undefined {
  if (error instanceof BrokerError && error.retryAfterSeconds !== undefined) return error.retryAfterSeconds * 1000;
  return undefined;
}

/**
 * Runs `attempt` until it succeeds, the error is not retryable, the attempts or the elapsed-time budget run out, or
 * the signal aborts. Waits `Retry-After` when the error carries one, else exponential backoff with full jitter.
 */
export async function withRetry<T>(
  attempt: (n: number) => Promise<T>,
  options: { retry: ResolvedRetry; idempotent: boolean; signal?: AbortSignal | undefined; retryable?: (error: unknown) => boolean },
): Promise<T> {
  const { retry, idempotent, signal } = options;
  const started = Date.now();
  for (let n = 1; ; n++) {
    if (signal?.aborted) throw abortReason(signal);
    try {
      return await attempt(n);
    } catch (error) {
      if (signal?.aborted) throw abortReason(signal);
      const retryable = options.retryable ? options.retryable(error) : isRetryable(error, idempotent);
      if (!retryable || n >= retry.maxAttempts) throw error;
      const asked = retryAfterMs(error);
      const backoff = Math.random() * Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (n - 1));
      const delay = asked ?? backoff;
      if (delay > retry.maxDelayMs) throw error;
      if (Date.now() - started + delay > retry.maxElapsedMs) throw error;
      await sleep(delay, signal);
    }
  }
}
