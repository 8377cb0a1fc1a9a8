/**
 * The one request pipeline every route runs in (see docs/architecture.md), in this order: request id
 * and error mapping outermost, then header normalisation, authentication, body limit and JSON
 * parsing, the route's input schema, then the route's pure `handle`. Routes never build HTTP
 * responses or error bodies themselves.
 *
 * Written out as plain steps rather than as a middy stack: middy awaits every middleware (the
 * synchronous ones too), races the handler against a timer and wraps each phase in its own promise,
 * about a third of the promises of a warm presign, each paying the AsyncLocalStorage hooks below.
 * The semantics are middy's: an error in any step, `handle` or the response step itself goes to the
 * one error step, which answers the one error shape.
 *
 * Every invocation runs under a deadline taken from the Lambda context (remaining time less
 * DEADLINE_MARGIN_MS): the upstream calls of the request share it (see ../ports/deadline.ts), so
 * a slow identity provider, STS or S3 ends in an honest 504 rather than Lambda's own timeout.
 *
 * Every invocation also runs in its own observability context (../observability/invocation.ts):
 * the logger adds its request id (and, once authenticated, partner and client) to every line, the
 * Lambda context is given to the logger, metrics are collected and written once at the end, and
 * every issuance and every error answered to an authenticated caller writes an audit line.
 */
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { authenticate } from '../auth/authenticate.js';
import type { BrokerDeps } from '../usecases/deps.js';
import { ConfigError, InvalidRequestError, TooLargeError, type BrokerError } from '../domain/errors.js';
import { auditChannelProblem } from '../observability/auditLog.js';
import { currentInvocation, runInvocation, setInvocationCaller } from '../observability/invocation.js';
import { startLoggerInvocation } from '../observability/logger.js';
import { flushInvocationMetrics, readMetricsOptions, recordColdStartOnce, recordRefusal } from '../observability/metrics.js';
import { auditRefusal } from '../usecases/audit.js';
import { DEADLINE_MARGIN_MS, deadlineIn, runWithDeadline, type Deadline } from '../ports/deadline.js';
import type { Caller, Grant } from '../domain/model.js';
import { resolveGrant } from '../usecases/resolveGrant.js';
import { corsHeaders } from './cors.js';
import { describeZodError, toBrokerError } from './errorMapping.js';
import { parseJsonBody } from './jsonBody.js';
import { requestIdOf } from './requestId.js';
import { errorResponse, jsonResponse, type HttpResponse } from './responses.js';
import type { Route } from './route.js';

/** JSON bodies of this API are small; anything larger is refused before parsing (a route may set its own limit). */
export const MAX_BODY_BYTES = 16 * 1024;

type Event = APIGatewayProxyEventV2;

/** What one request has established so far: its id, then (authenticated routes) the caller and grant. */
interface RequestState { readonly requestId: string; caller?: Caller; grant?: Grant }

/**
 * Builds the Lambda handler for one route; `getDeps` is called once per invocation (memoised by the
 * caller). Throws ConfigError (at import, like an invalid config) when Lambda's logging settings
 * would drop audit lines, or BROKER_METRICS_PARTNER_DIMENSION is invalid.
 */
export function lambdaHandler<Input>(
  route: Route<Input>,
  getDeps: () => BrokerDeps,
  env: Record<string, string | undefined> = process.env,
): (event: Event, context?: Context) => Promise<HttpResponse> {
  const auditProblem = auditChannelProblem(env);
  if (auditProblem !== undefined) {
    // No issuance without its audit line: refuse to start, as an invalid config does.
    getDeps().logger.error('refusing to start', { reason: auditProblem });
    throw new ConfigError(`refusing to start: ${auditProblem}`);
  }
  const metricsOptions = readMetricsOptions(env);
  const maxBodyBytes = route.method === 'POST' ? route.maxBodyBytes ?? MAX_BODY_BYTES : undefined;

  /** Every step up to the route's answer; any throw is the request's error. */
  const answer = async (event: Event, state: RequestState): Promise<HttpResponse> => {
    normaliseHeaders(event);
    const deps = getDeps();
    if (route.auth !== 'none') await authenticateCaller(route, deps, event, state);
    if (maxBodyBytes !== undefined) {
      assertBodyWithin(event, maxBodyBytes);
      parseJsonBody(event);
    }
    const input = parseInput(route, event);
    const result = route.auth === 'none'
      ? await route.handle(input, { deps, requestId: state.requestId })
      : await route.handle(input, { deps, requestId: state.requestId, ...requireCaller(state) });
    return jsonResponse(200, result, { noStore: route.noStore });
  };

  /** Request id and error mapping, outermost: whatever happens, one answer in the one shape. */
  const respond = async (event: Event, requestId: string): Promise<HttpResponse> => {
    const state: RequestState = { requestId };
    try {
      return await finish(event, state, getDeps(), await answer(event, state));
    } catch (error) {
      // As middy's onError: an error of the response step too ends here (and one here is thrown to Lambda).
      const deps = getDeps();
      const err = toBrokerError(error);
      logFailure(deps, state, err);
      recordRefusal(err.code, err.status);
      if (state.caller) auditRefusal({ requestId: state.requestId, caller: state.caller, route: route.id, code: err.code, status: err.status });
      return finish(event, state, deps, errorResponse(err, state.requestId));
    }
  };

  return (event, context) => {
    const requestId = requestIdOf(event);
    return runInvocation({ requestId, route: route.id }, async () => {
      startLoggerInvocation(getDeps().logger, context);
      recordColdStartOnce();
      try {
        return await runWithDeadline(deadlineOf(context), () => respond(event, requestId));
      } finally {
        flushInvocationMetrics(currentInvocation()!, metricsOptions);
      }
    });
  };
}

/**
 * The invocation's deadline: Lambda's remaining time less DEADLINE_MARGIN_MS. Without a context
 * that tells the time (a direct call in a test or script), none: each upstream call's own timeout
 * and retry settings alone apply.
 */
export function deadlineOf(context: Pick<Context, 'getRemainingTimeInMillis'> | undefined): Deadline | undefined {
  const remaining = typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : undefined;
  if (typeof remaining !== 'number' || !Number.isFinite(remaining)) return undefined;
  return deadlineIn(remaining - DEADLINE_MARGIN_MS);
}

function requireCaller(state: RequestState): { caller: Caller; grant: Grant } {
  if (!state.caller || !state.grant) throw new TypeError('authenticated route reached without a caller and grant');
  return { caller: state.caller, grant: state.grant };
}

/** The headers every answer carries: the request id, nosniff and the caller's CORS headers. */
async function finish(event: Event, state: RequestState, deps: BrokerDeps, response: HttpResponse): Promise<HttpResponse> {
  const who = state.caller ? { authenticated: true as const, grant: state.grant } : { authenticated: false as const };
  Object.assign(response.headers, {
    'x-request-id': state.requestId,
    'x-content-type-options': 'nosniff',
    ...await corsHeaders(event.headers?.['origin'], deps.store, who),
  });
  return response;
}

/**
 * Header names in lower case, as every step reads them (API Gateway v2 already sends them so; a
 * direct invocation or another front door may not). Of two names that differ only in case, the
 * later wins.
 */
/** Anything but a lower-case HTTP token character: a name with one is lower-cased (as all names were before). */
const NOT_LOWER_TOKEN = /[^a-z0-9!#$%&'*+.^_`|~-]/;

function normaliseHeaders(event: Event): void {
  const headers = event.headers;
  if (!headers) return;
  if (!Object.keys(headers).some((name) => NOT_LOWER_TOKEN.test(name))) return;
  const normalised: Record<string, string | undefined> = {};
  for (const name of Object.keys(headers)) normalised[name.toLowerCase()] = headers[name];
  event.headers = normalised;
}

/** 5xx are logged with their cause's name, code and status only: SDK and jose messages stay out of bodies. */
function logFailure(deps: BrokerDeps, state: RequestState, err: BrokerError): void {
  const fields = { requestId: state.requestId, code: err.code, status: err.status, ...(state.caller ? { partner: state.caller.partnerId, client: state.caller.clientId } : {}) };
  if (err.status < 500) {
    deps.logger.info('request refused', fields);
    return;
  }
  const cause = err.cause as { name?: unknown; code?: unknown; $metadata?: { httpStatusCode?: unknown } } | undefined;
  deps.logger.error('request failed', {
    ...fields,
    causeName: typeof cause?.name === 'string' ? cause.name : undefined,
    causeCode: typeof cause?.code === 'string' ? cause.code : undefined,
    causeStatus: cause?.$metadata?.httpStatusCode,
  });
}

async function authenticateCaller<Input>(route: Route<Input>, deps: BrokerDeps, event: Event, state: RequestState): Promise<void> {
  state.caller = await authenticate(
    event.headers ?? {},
    { store: deps.store, jwt: deps.jwt, now: () => new Date(deps.clock()) },
    { allowBareAuthorizationApiKey: route.auth === 'container' },
  );
  // from here on, every log line and metric of this invocation names the partner and client
  setInvocationCaller(state.caller.partnerId, state.caller.clientId);
  // Once, here: the use case and the CORS headers of whatever answer follows both use it.
  state.grant = await resolveGrant(deps.store, state.caller);
}

function assertBodyWithin(event: Event, maxBytes: number): void {
  const raw = event.body ?? '';
  const bytes = event.isBase64Encoded ? Math.floor((raw.length * 3) / 4) : Buffer.byteLength(raw);
  if (bytes > maxBytes) throw new TooLargeError(`request body is ${bytes} bytes; the limit is ${maxBytes}`);
  if (raw === '') throw new InvalidRequestError('a JSON body is required');
}

function parseInput<Input>(route: Route<Input>, event: Event): Input {
  const source: unknown = route.method === 'POST' ? event.body : (event.queryStringParameters ?? {});
  const root = route.method === 'POST' ? 'body' : 'query';
  refuseIllFormedUnicode(source, root);
  const parsed = route.input.safeParse(source);
  if (!parsed.success) throw new InvalidRequestError(describeZodError(parsed.error, root));
  return parsed.data;
}

/** A UTF-16 surrogate not paired with its partner: not a character at all (`\uD800` in JSON, say). */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Refuses (400 invalid_request, naming the field) any string in the request, object keys
 * included, that is not well-formed UTF-16. Such strings cannot be UTF-8 encoded, so they would
 * fail deep inside a signer or encoder (a 500) or reach S3 and the logs as replacement
 * characters: one check here covers every field of every route, before any upstream call.
 * Iterative, so a deeply nested body cannot exhaust the stack.
 */
export function refuseIllFormedUnicode(value: unknown, root: string): void {
  const pending: Array<[unknown, string]> = [[value, root]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [item, path] = next;
    if (typeof item === 'string') {
      if (LONE_SURROGATE.test(item)) throw new InvalidRequestError(`${path}: must be well-formed Unicode (a lone surrogate is not a character)`);
    } else if (Array.isArray(item)) {
      item.forEach((element, index) => pending.push([element, `${path}.${index}`]));
    } else if (typeof item === 'object' && item !== null) {
      for (const [key, element] of Object.entries(item)) {
        if (LONE_SURROGATE.test(key)) throw new InvalidRequestError(`${path}: a field name is not well-formed Unicode (a lone surrogate is not a character)`);
        pending.push([element, `${path}.${key}`]);
      }
    }
  }
}
