import type { z } from 'zod';
import type { BrokerDeps } from '../usecases/deps.js';
import type { Caller, Grant } from '../domain/model.js';

interface RouteBase<Input> {
  /** OpenAPI operationId. */
  id: string;
  method: 'GET' | 'POST';
  path: string;
  summary: string;
  /** One paragraph; also the OpenAPI description. */
  description: string;
  /** Request schema: the JSON body for POST, the query string for GET. */
  input: z.ZodType<Input>;
  /** Response schema, for the OpenAPI document and contract tests. */
  output: z.ZodType;
  /**
   * Sends `Cache-Control: no-store`. Credentials and signed URLs must never be cached by a browser
   * or proxy, and neither may anything that depends on who is asking (every authenticated route):
   * a shared cache could otherwise serve one partner's answer to another.
   */
  noStore: boolean;
  /** Largest JSON body this route accepts, in bytes; MAX_BODY_BYTES (16 KiB) when absent. */
  maxBodyBytes?: number;
  /** Error statuses this route adds to the common ones, for the OpenAPI document: status → description. */
  errors?: Readonly<Record<string, string>>;
}

export interface RouteContext {
  deps: BrokerDeps;
  requestId: string;
}

/** A route behind authentication. `container` also accepts the bare API key the AWS SDKs send. */
export interface AuthenticatedRoute<Input> extends RouteBase<Input> {
  auth: 'caller' | 'container';
  /** Always: an authenticated answer is about one caller (see RouteBase.noStore). */
  noStore: true;
  /** One use-case call, then the response's shape: `grant` is the caller's, resolved once per request. */
  handle(input: Input, ctx: RouteContext & { caller: Caller; grant: Grant }): Promise<unknown>;
}

export interface PublicRoute<Input> extends RouteBase<Input> {
  auth: 'none';
  handle(input: Input, ctx: RouteContext): Promise<unknown>;
}

export type Route<Input = unknown> = AuthenticatedRoute<Input> | PublicRoute<Input>;
