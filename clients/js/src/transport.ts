import { brokerErrorFrom } from './errors.js';
import { OPERATIONS, type OperationId, type Operations } from './generated/contract.js';
import { withRetry, type ResolvedRetry } from './retry.js';

/** How the client authenticates: an API key (`X-Api-Key`), or an OIDC/JWT bearer token (a string or a function that returns a fresh one). */
export type BrokerAuth = { apiKey: string } | { token: string | (() => Promise<string>) };

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** Calls that change nothing when repeated, so a network error may be retried. */
const IDEMPOTENT: ReadonlySet<OperationId> = new Set<OperationId>([
  'whoami',
  'health',
  'openapi',
  'vendCredentials', // each vend is a fresh session, but a repeat has no effect beyond spending the vend rate
  'vendCredentialProcess',
  'vendContainerCredentials',
  'presignUpload',
  'presignMultipartParts',
  'listMultipartParts',
  'presignDownload',
  'abortMultipartUpload',
]);

export class Transport {
  readonly baseUrl: string;

  constructor(
    url: string,
    private readonly auth: BrokerAuth | undefined,
    readonly fetch: FetchLike,
    readonly retry: ResolvedRetry,
  ) {
    if (typeof url !== 'string' || !/^https?:\/\//i.test(url)) throw new TypeError(`url must be an http(s) URL, got ${String(url)}`);
    this.baseUrl = url.replace(/\/+$/, '');
  }

  private async authHeaders(): Promise<Record<string, string>> {
    const auth = this.auth;
    if (!auth) return {};
    if ('apiKey' in auth) return { 'x-api-key': auth.apiKey };
    const token = typeof auth.token === 'function' ? await auth.token() : auth.token;
    return { authorization: `Bearer ${token}` };
  }

  /** One broker call, with retries for 429/503 (and network errors when the call is idempotent). */
  async call<K extends OperationId>(
    id: K,
    input: { body?: Operations[K]['request']; query?: Operations[K]['query']; signal?: AbortSignal | undefined },
  ): Promise<Operations[K]['response']> {
    const op = OPERATIONS[id];
    let target = this.baseUrl + op.path;
    if (input.query) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(input.query as Record<string, unknown>)) {
        if (v !== undefined) params.set(k, String(v));
      }
      const qs = params.toString();
      if (qs) target += `?${qs}`;
    }
    const body = input.body === undefined ? undefined : JSON.stringify(input.body);
    return withRetry(
      async () => {
        const headers: Record<string, string> = { accept: 'application/json', ...(op.auth ? await this.authHeaders() : {}) };
        if (body !== undefined) headers['content-type'] = 'application/json';
        const init: RequestInit = { method: op.method, headers };
        if (body !== undefined) init.body = body;
        if (input.signal) init.signal = input.signal;
        const response = await this.fetch(target, init);
        if (!response.ok) throw await brokerErrorFrom(response);
        return (await response.json()) as Operations[K]['response'];
      },
      { retry: this.retry, idempotent: IDEMPOTENT.has(id), signal: input.signal },
    );
  }
}
