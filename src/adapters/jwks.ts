/**
 * Bounded fetches from an identity provider (its JWKS and its OIDC discovery document): https only
 * (the loopback rule of ../rules/loopback.js), no redirects, a size cap enforced while reading, a
 * timeout of min(`timeoutMs`, the request's time left) that covers the body too.
 */
import { errors, type JWTVerifyGetKey } from 'jose';
import { BrokerError, DeadlineExceededError, JwksUnavailableError } from '../domain/errors.js';
import { endpointProblem } from '../rules/loopback.js';
import { attemptTimeoutMs, currentDeadline } from '../ports/deadline.js';

export interface BoundedFetchOptions {
  maxBytes: number;
  timeoutMs: number;
  fetch: typeof fetch;
  /** What is fetched, for messages: `JWKS` or `OIDC discovery document`. */
  label?: string;
}

type FetchInit = { headers?: Headers | Record<string, string>; method: 'GET'; redirect: 'manual'; signal?: AbortSignal };

/** The URL, or a 503 naming `what` when it breaks the loopback rule (a config problem: logged, never shown). */
export function checkedUrl(raw: string, what: string, allowInsecureLoopbackHttp: boolean): URL {
  const problem = endpointProblem(raw, allowInsecureLoopbackHttp);
  if (problem !== undefined) throw new JwksUnavailableError(`${what} ${problem}`);
  return new URL(raw);
}

/**
 * A fetch that enforces the size cap by reading the body itself, and its own deadline: the
 * smaller of `timeoutMs` and the request's time left. No attempt starts with too little time
 * left (504 deadline_exceeded); running out of the request's budget mid-fetch is the same 504, while
 * the fetch's own timeout is 503 jwks_unavailable.
 */
export function boundedFetch(options: BoundedFetchOptions) {
  const label = options.label ?? 'JWKS';
  const outOfTime = (cause?: unknown) => new DeadlineExceededError(`the request's time budget ran out fetching the ${label}`, { cause });
  return async (url: string, init: FetchInit): Promise<Response> => {
    const timeoutMs = attemptTimeoutMs(options.timeoutMs, () => outOfTime());
    const deadline = currentDeadline();
    const signals = [AbortSignal.timeout(timeoutMs), ...(init.signal ? [init.signal] : []), ...(deadline ? [deadline.signal] : [])];
    const signal = AbortSignal.any(signals);
    // When the request's time left, not the fetch's own setting, set the timeout, running out is the deadline's 504.
    const cappedByDeadline = timeoutMs < options.timeoutMs;
    const timedOut = (cause: unknown) => (cappedByDeadline || deadline?.signal.aborted
      ? outOfTime(cause)
      : new JwksUnavailableError(`${label} fetch timed out`, { cause }));
    let response: Response;
    try {
      response = await options.fetch(url, { ...init, signal });
    } catch (cause) {
      throw signal.aborted ? timedOut(cause) : new JwksUnavailableError(`${label} endpoint unreachable`, { cause });
    }
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      throw new JwksUnavailableError(`${label} endpoint answered HTTP ${response.status}`);
    }
    const body = await readCapped(response, options.maxBytes, signal, label, timedOut);
    return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
  };
}

/** Reads a body up to `maxBytes`, cancelling the download the moment it goes past. */
async function readCapped(response: Response, maxBytes: number, signal: AbortSignal, label: string, timedOut: (cause: unknown) => BrokerError): Promise<Uint8Array> {
  const tooLarge = () => new JwksUnavailableError(`${label} response exceeds ${maxBytes} bytes`);
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!response.body) return new Uint8Array();
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge();
      }
      chunks.push(value);
    }
  } catch (cause) {
    if (cause instanceof BrokerError) throw cause;
    throw signal.aborted ? timedOut(cause) : new JwksUnavailableError(`${label} response could not be read`, { cause });
  }
  return Buffer.concat(chunks);
}

/**
 * Wraps jose's remote key set so that every failure to obtain usable keys (network, timeout, size
 * cap, not JSON, not a JWKS, unimportable key) is a 503, and the request's budget running out a
 * 504; only "no key matches" stays a 401, since that one is the token's fault.
 */
export function guardKeyResolver(remote: JWTVerifyGetKey): JWTVerifyGetKey {
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (err) {
      if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) throw err;
      if (err instanceof BrokerError) throw err;
      throw new JwksUnavailableError(err instanceof errors.JWKSTimeout ? 'JWKS fetch timed out' : 'JWKS could not be fetched or used', { cause: err });
    }
  };
}
