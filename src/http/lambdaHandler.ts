/**
 * The one middleware stack every route runs in (STYLE.md 1, 5): request id and error mapping
 * outermost, then header normalisation, authentication, body limits and JSON parsing, then the
 * route's pure `handle`. Routes never build HTTP responses or error bodies themselves.
 */
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { authenticate } from '../auth/authenticate.js';
import type { BrokerDeps } from '../broker/deps.js';
import { InvalidRequestError, TooLargeError, type BrokerError } from '../errors.js';
import type { Caller } from '../ports.js';
import { corsHeaders } from './cors.js';
import { describeZodError, toBrokerError } from './errorMapping.js';
import { jsonBody } from './jsonBody.js';
import { errorResponse, jsonResponse, type HttpResponse } from './responses.js';
import type { Route } from './route.js';

/** JSON bodies of this API are small; anything larger is refused before parsing (a route may set its own limit). */
export const MAX_BODY_BYTES = 16 * 1024;

type Event = APIGatewayProxyEventV2;
type Request = middy.Request<Event, HttpResponse>;

/** Per-invocation state, keyed by the event object (several invocations may share a process). */
interface InvocationState { requestId: string; caller?: Caller }
const invocations = new WeakMap<Event, InvocationState>();
const stateOf = (event: Event): InvocationState => {
  let state = invocations.get(event);
  if (!state) {
    state = { requestId: requestIdOf(event) };
    invocations.set(event, state);
  }
  return state;
};

/** serverless-offline gives every event this one id; locally each request still deserves its own. */
const OFFLINE_PLACEHOLDER_ID = 'offlineContext_resourceId';

/** API Gateway's request id (it also appears in API Gateway's access logs), else a fresh UUID. */
function requestIdOf(event: Event): string {
  const id = event.requestContext?.requestId;
  return id && id !== OFFLINE_PLACEHOLDER_ID ? id : randomUUID();
}

/** Builds the Lambda handler for one route; `getDeps` is called once per invocation (memoised by the caller). */
export function lambdaHandler<Input>(route: Route<Input>, getDeps: () => BrokerDeps) {
  const stack = middy<Event, HttpResponse>()
    .use(responseEnvelope(getDeps))
    .use(httpHeaderNormalizer())
    .use(authentication(route, getDeps));
  if (route.method === 'POST') stack.use(bodyLimit(route.maxBodyBytes ?? MAX_BODY_BYTES)).use(jsonBody());
  return stack.handler(async (event) => {
    const state = stateOf(event);
    const input = parseInput(route, event);
    const deps = getDeps();
    const result = route.auth === 'none'
      ? await route.handle(input, { deps, requestId: state.requestId })
      : await route.handle(input, { deps, requestId: state.requestId, caller: requireCaller(state) });
    return jsonResponse(200, result, { noStore: route.noStore });
  });
}

function requireCaller(state: InvocationState): Caller {
  if (!state.caller) throw new TypeError('authenticated route reached without a caller');
  return state.caller;
}

/** Outermost: assigns the request id, maps every error to the one error shape, adds common headers. */
function responseEnvelope(getDeps: () => BrokerDeps): middy.MiddlewareObj<Event, HttpResponse> {
  const finish = (request: Request, response: HttpResponse): HttpResponse => {
    const state = stateOf(request.event);
    const deps = getDeps();
    Object.assign(response.headers, {
      'x-request-id': state.requestId,
      'x-content-type-options': 'nosniff',
      ...corsHeaders(request.event.headers?.['origin'], deps, state.caller),
    });
    return response;
  };
  return {
    before: (request) => { stateOf(request.event); },
    after: (request) => {
      if (request.response) request.response = finish(request, request.response);
    },
    onError: (request) => {
      const state = stateOf(request.event);
      const err = toBrokerError(request.error);
      logFailure(getDeps(), state, err);
      request.response = finish(request, errorResponse(err, state.requestId));
    },
  };
}

/** 5xx are logged with their cause's name, code and status only: SDK and jose messages stay out of bodies. */
function logFailure(deps: BrokerDeps, state: InvocationState, err: BrokerError): void {
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

function authentication<Input>(route: Route<Input>, getDeps: () => BrokerDeps): middy.MiddlewareObj<Event, HttpResponse> {
  return {
    before: async (request) => {
      if (route.auth === 'none') return;
      const deps = getDeps();
      const headers = request.event.headers ?? {};
      stateOf(request.event).caller = await authenticate(
        headers,
        { store: deps.store, jwt: deps.jwt, now: () => new Date(deps.clock()) },
        { allowBareAuthorizationApiKey: route.auth === 'container' },
      );
    },
  };
}

function bodyLimit(maxBytes: number): middy.MiddlewareObj<Event, HttpResponse> {
  return {
    before: ({ event }) => {
      const raw = event.body ?? '';
      const bytes = event.isBase64Encoded ? Math.floor((raw.length * 3) / 4) : Buffer.byteLength(raw);
      if (bytes > maxBytes) throw new TooLargeError(`request body is ${bytes} bytes; the limit is ${maxBytes}`);
      if (raw === '') throw new InvalidRequestError('a JSON body is required');
    },
  };
}

function parseInput<Input>(route: Route<Input>, event: Event): Input {
  const source = route.method === 'POST' ? event.body : (event.queryStringParameters ?? {});
  const parsed = route.input.safeParse(source);
  if (!parsed.success) throw new InvalidRequestError(describeZodError(parsed.error, route.method === 'POST' ? 'body' : 'query'));
  return parsed.data;
}
