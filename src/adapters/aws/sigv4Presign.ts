import { createHash, createHmac } from 'node:crypto';
import { PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { getEndpointFromInstructions } from '@smithy/core/endpoints';
import { extendedEncodeURIComponent } from '@smithy/core/protocols';
import {
  ALGORITHM_IDENTIFIER, createScope, GENERATED_HEADERS, getCanonicalHeaders, MAX_PRESIGNED_TTL, SHA256_HEADER, SIGNATURE_QUERY_PARAM,
} from '@smithy/signature-v4';
import type { S3Target, TemporaryCredentials } from '../../domain/model.js';
import { amzDate, deriveSigningKey, signPost, type PostRequest } from './sigv4Post.js';

/**
 * A fast presigner: SignatureV4.presign's steps, run synchronously, with the SDK's own pieces where
 * they cost little (`@smithy/signature-v4`: getCanonicalHeaders, createScope, its constants;
 * `@smithy/core/protocols`: the URI escaping) and its other steps (prepareRequest,
 * moveHeadersToQuery, getCanonicalQuery, formatUrl) written out on the request's own objects rather
 * than on a clone per step, each query name and value escaped once for both the canonical query and
 * the URL; over a request built here the way the S3 client's
 * serializer builds it, with a SigV4 signing key derived once per session credentials, day and
 * region and dropped with the session. `getSignedUrl` spends ~10× the signature itself on client
 * construction and endpoint resolution per URL; SignatureV4.presign itself awaits a credential
 * provider, a payload hash, two digests and a signing-key lookup (which re-hashes the secret) per
 * URL; this does none of that per URL, so 100 part URLs cost 100 canonical requests and 2×100
 * hashes. The URLs are byte-identical to `getSignedUrl`'s with the same
 * `signableHeaders`/`unhoistableHeaders`, credentials, signing instant and expiry
 * (test/property/presignEquivalence.property.test.ts proves it over random keys, headers and expiries).
 *
 * What S3RequestPresigner does before signing, and so what this repeats (see `presignUrl`):
 * content-type is unsignable unless listed in `signableHeaders`; every x-amz-server-side-encryption*
 * header stays a header; the payload is UNSIGNED-PAYLOAD; the host header is the endpoint's host.
 */

/** Which S3 operation a URL is for: its x-id, which S3 ignores but getSignedUrl's URL carries. */
export type PresignOperation = 'PutObject' | 'UploadPart' | 'GetObject';

export interface PresignRequest {
  operation: PresignOperation;
  target: S3Target;
  /** Full object key, unencoded. */
  key: string;
  /** Operation query parameters besides x-id (partNumber, uploadId, response-content-disposition). */
  query?: Record<string, string>;
  /** Request headers, lower-case names, exactly as the client must send them (host excluded). */
  headers?: Record<string, string>;
  signableHeaders?: ReadonlySet<string>;
  unhoistableHeaders?: ReadonlySet<string>;
  expiresInSeconds: number;
  signingDate: Date;
}

/** Builds S3 client settings for a target (the S3 adapter's `clientConfig`). */
export type EndpointConfig = (target: S3Target, credentials: TemporaryCredentials, systemClockOffset: number) => S3ClientConfig;

const METHOD: Readonly<Record<PresignOperation, string>> = { PutObject: 'PUT', UploadPart: 'PUT', GetObject: 'GET' };

/** S3RequestPresigner's unsignable header: content-type is signed only when listed in `signableHeaders`. */
const UNSIGNABLE_HEADERS: ReadonlySet<string> = new Set(['content-type']);
const SIGNATURE_PARAM = SIGNATURE_QUERY_PARAM;
const SIGNATURE_PARAM_LOWER = SIGNATURE_QUERY_PARAM.toLowerCase();

/** One query parameter, escaped once for both the canonical query and the URL. */
interface QueryParam { name: string; escapedName: string; pair: string }

/** Array.prototype.sort's default order (UTF-16 code units), as the SDK's `.sort()` calls use. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** At most this many live signing states: one per cached session, and the session cache is bounded too. */
const MAX_SIGNERS = 1_000;

/**
 * One session's signing state: a copy of its credentials (what it signs with cannot change under
 * it) and `keys`: SigV4 signing keys derived from this session's secret, by
 * `<day>/<region>/<service>`; they live and die with the entry (a new day or region adds one, and
 * a session lasts at most 12 hours, so an entry holds at most a few).
 */
interface SignerEntry { credentials: TemporaryCredentials; keys: Map<string, Buffer> }
interface Endpoint {
  protocol: string; hostname: string; port: number | undefined; basePath: string; signingRegion: string; signingName: string;
  /** The endpoint as createPresignedPost formats it (formatUrl(toEndpointV1(endpoint))): a POST form's action. */
  url: string;
}

export class SigV4Presigner {
  /** Keyed by access key id; an entry also pins the secret and token it was built with. */
  private readonly signers = new Map<string, SignerEntry>();
  /** No entry expires before this instant: the sweep runs only once the clock reaches it. */
  private earliestExpiry = Infinity;
  /** Endpoints depend on the target only (bucket, region, endpoint, path style), never on the key. */
  private readonly endpoints = new Map<string, Promise<Endpoint>>();
  /** The same, once resolved: a warm presign then awaits nothing (each await costs in a batch of 100). */
  private readonly resolved = new Map<string, Endpoint>();

  /**
   * `endpointConfig`: the S3 client settings whose endpoint rules the URLs follow (the S3 adapter's
   * pinned `clientConfig`); `clock` decides when a session's signing state is dropped (injected in tests).
   */
  constructor(private readonly endpointConfig: EndpointConfig, private readonly clock: () => number = Date.now) {}

  /** The number of live session signing states (tests and the bench read it). */
  get signerCount(): number { return this.signers.size; }

  async presignUrl(credentials: TemporaryCredentials, request: PresignRequest): Promise<string> {
    const endpoint = this.resolved.get(targetKey(request.target)) ?? await this.endpoint(request.target);
    return this.sign(credentials, endpoint, request);
  }

  /**
   * SignatureV4.presign (as S3RequestPresigner calls it) step by step, synchronously. Once a
   * target's endpoint is resolved (`presignUrl` has run for it), `presignUrlNow` signs without a
   * single promise: the way to sign many part URLs cheaply. Undefined when the endpoint is not
   * resolved yet.
   */
  presignUrlNow(credentials: TemporaryCredentials, request: PresignRequest): string | undefined {
    const endpoint = this.resolved.get(targetKey(request.target));
    return endpoint === undefined ? undefined : this.sign(credentials, endpoint, request);
  }

  private sign(credentials: TemporaryCredentials, endpoint: Endpoint, request: PresignRequest): string {
    // SignatureV4.presign refuses these (validateResolvedCredentials, MAX_PRESIGNED_TTL); so does this.
    if (typeof credentials.accessKeyId !== 'string' || typeof credentials.secretAccessKey !== 'string') throw new Error('Resolved credential object is not valid');
    if (request.expiresInSeconds > MAX_PRESIGNED_TTL) throw new Error('Signature version 4 presigned URLs must have an expiration date less than one week in the future');
    const hostHeader = `${endpoint.hostname}${endpoint.port === undefined ? '' : `:${endpoint.port}`}`;
    // Object.assign, not a spread: on Node 20 a spread clone that then gets new keys takes a slow path.
    const headers: Record<string, string> = Object.assign({}, request.headers);
    headers.host = hostHeader;
    // S3RequestPresigner.prepareRequest: the payload is never hashed into a presigned URL. Spelled as
    // it does: the signer hoists it into the query under this exact (case-sensitive) name.
    headers['X-Amz-Content-Sha256'] = 'UNSIGNED-PAYLOAD';
    const hash = payloadHash(headers);
    // From here on, SignatureV4.presign's own sequence (uriEscapePath false: the path is signed as
    // built), on objects of its own rather than the SDK's clones of the request at each step.
    // prepareRequest: headers the signer generates are never taken from the request.
    for (const name of Object.keys(headers)) if (GENERATED_HEADERS.includes(name.toLowerCase())) delete headers[name];
    // moveHeadersToQuery: every x-amz-* header becomes a query parameter (same name) unless unhoistable;
    // S3RequestPresigner keeps every x-amz-server-side-encryption* header a header.
    const query: Record<string, string> = Object.assign({}, request.query, { 'x-id': request.operation });
    for (const name of Object.keys(headers)) {
      const lower = name.toLowerCase();
      if (lower.startsWith('x-amz-') && !lower.startsWith('x-amz-server-side-encryption') && request.unhoistableHeaders?.has(lower) !== true) {
        query[name] = headers[name]!;
        delete headers[name];
      }
    }
    const longDate = amzDate(request.signingDate);
    const shortDate = longDate.slice(0, 8);
    const scope = createScope(shortDate, endpoint.signingRegion, endpoint.signingName);
    if (credentials.sessionToken) query['X-Amz-Security-Token'] = credentials.sessionToken;
    query['X-Amz-Algorithm'] = ALGORITHM_IDENTIFIER;
    query['X-Amz-Credential'] = `${credentials.accessKeyId}/${scope}`;
    query['X-Amz-Date'] = longDate;
    query['X-Amz-Expires'] = request.expiresInSeconds.toString(10);
    const canonicalHeaders = getCanonicalHeaders({ headers } as Parameters<typeof getCanonicalHeaders>[0], UNSIGNABLE_HEADERS as Set<string>, request.signableHeaders as Set<string> | undefined);
    const signedHeaders = Object.keys(canonicalHeaders).sort();
    query['X-Amz-SignedHeaders'] = signedHeaders.join(';');
    // Each name and value escaped once, for both the canonical query (getCanonicalQuery: sorted by
    // escaped name, the signature left out) and the URL (formatUrl: sorted by name).
    const params = Object.keys(query).map((name): QueryParam => {
      const value = query[name];
      if (typeof value !== 'string') throw new TypeError(`query parameter ${name} is not a string`);
      const escapedName = extendedEncodeURIComponent(name);
      return { name, escapedName, pair: `${escapedName}=${extendedEncodeURIComponent(value)}` };
    });
    const canonicalQuery = params.filter((p) => p.name.toLowerCase() !== SIGNATURE_PARAM_LOWER)
      .sort((a, b) => compareStrings(a.escapedName, b.escapedName)).map((p) => p.pair).join('&');
    const path = `${endpoint.basePath}/${greedyLabel(request.key)}`;
    const canonicalRequest = `${METHOD[request.operation]}\n${path}\n${canonicalQuery}\n${signedHeaders.map((name) => `${name}:${canonicalHeaders[name]!}`).join('\n')}\n\n${signedHeaders.join(';')}\n${hash}`;
    const stringToSign = `${ALGORITHM_IDENTIFIER}\n${longDate}\n${scope}\n${createHash('sha256').update(canonicalRequest, 'utf8').digest('hex')}`;
    const key = this.signingKey(credentials, endpoint, shortDate, endpoint.signingRegion, endpoint.signingName);
    const signature = createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
    // formatUrl: the signature joins the parameters (replacing one of its name, as an assignment would), sorted by name.
    const urlParams = params.filter((p) => p.name !== SIGNATURE_PARAM);
    urlParams.push({ name: SIGNATURE_PARAM, escapedName: SIGNATURE_PARAM, pair: `${SIGNATURE_PARAM}=${signature}` });
    urlParams.sort((a, b) => compareStrings(a.name, b.name));
    const scheme = endpoint.protocol.endsWith(':') ? endpoint.protocol : `${endpoint.protocol}:`;
    return `${scheme}//${hostHeader}${path.startsWith('/') ? path : `/${path}`}?${urlParams.map((p) => p.pair).join('&')}`;
  }

  /**
   * A browser POST form (./sigv4Post.ts), identical to createPresignedPost's for the same
   * credentials, instant and input, signed with a key derived once per session, day and region and
   * kept with the session's signing state (dropped with it). The form's action is the endpoint for the
   * bucket, resolved once per target like the URLs'.
   */
  async presignPost(credentials: TemporaryCredentials, target: S3Target, request: Omit<PostRequest, 'bucket'>): Promise<{ url: string; fields: Record<string, string> }> {
    const endpoint = this.resolved.get(targetKey(target)) ?? await this.endpoint(target);
    // createPresignedPost scopes the signature to the client's region and "s3" (not the endpoint's
    // signing region). The client would turn a FIPS pseudo-region into the real one first; the
    // broker's config only admits plain regions, so such a target is a wiring bug here.
    if (target.region.startsWith('fips-') || target.region.endsWith('-fips')) throw new TypeError(`region ${target.region}: POST forms are signed for plain regions only`);
    const key = this.signingKey(credentials, endpoint, amzDate(request.signingDate).slice(0, 8), target.region, 's3');
    return { url: endpoint.url, fields: signPost(Object.assign({}, request, { bucket: target.bucket }), credentials, target.region, key) };
  }

  /** The session's signing key for a day, region and service: derived once, kept with the session's entry. */
  private signingKey(credentials: TemporaryCredentials, endpoint: Endpoint, shortDate: string, region: string, service: string): Buffer {
    const entry = this.entryFor(credentials, endpoint);
    if (entry === undefined) return deriveSigningKey(credentials.secretAccessKey, shortDate, region, service);
    const scope = `${shortDate}/${region}/${service}`;
    let key = entry.keys.get(scope);
    if (key === undefined) {
      key = deriveSigningKey(entry.credentials.secretAccessKey, shortDate, region, service);
      entry.keys.set(scope, key);
    }
    return key;
  }

  /**
   * The signing state of these credentials: built once, dropped when the session expires (per the
   * clock) or when the same key id turns up with another secret or token, so a refreshed session
   * never signs with the previous one's secret and no key outlives its session. Credentials already
   * past their expiry (per this clock) get no entry: signing with them is the caller's decision
   * (getSignedUrl signs too), caching anything derived from them is not.
   */
  private entryFor(credentials: TemporaryCredentials, endpoint: Endpoint): SignerEntry | undefined {
    const now = this.clock();
    this.evictExpired(now);
    if (credentials.expiration.getTime() <= now) return undefined;
    const cacheKey = `${credentials.accessKeyId}\u0000${endpoint.signingRegion}\u0000${endpoint.signingName}`;
    const entry = this.signers.get(cacheKey);
    if (entry !== undefined && sameCredentials(entry.credentials, credentials)) return entry;
    if (this.signers.size >= MAX_SIGNERS) this.signers.delete(this.signers.keys().next().value as string);
    const pinned = { ...credentials };
    const fresh: SignerEntry = { credentials: pinned, keys: new Map() };
    this.signers.delete(cacheKey);
    this.signers.set(cacheKey, fresh);
    this.earliestExpiry = Math.min(this.earliestExpiry, pinned.expiration.getTime());
    return fresh;
  }

  private evictExpired(now: number): void {
    if (now < this.earliestExpiry) return;
    this.earliestExpiry = Infinity;
    for (const [key, entry] of this.signers) {
      const expiry = entry.credentials.expiration.getTime();
      if (expiry <= now) this.signers.delete(key);
      else this.earliestExpiry = Math.min(this.earliestExpiry, expiry);
    }
  }

  /**
   * The SDK's own endpoint rules, evaluated once per target with the adapter's pinned client
   * settings (virtual-hosted or path style, partition suffix, signing region and name).
   */
  private endpoint(target: S3Target): Promise<Endpoint> {
    const cacheKey = targetKey(target);
    let endpoint = this.endpoints.get(cacheKey);
    if (endpoint === undefined) {
      endpoint = resolveEndpoint(target, this.endpointConfig);
      endpoint.then((value) => { this.resolved.set(cacheKey, value); }, () => undefined);
      // A failed resolution is not cached: the next call tries again.
      endpoint.catch(() => this.endpoints.delete(cacheKey));
      this.endpoints.set(cacheKey, endpoint);
    }
    return endpoint;
  }
}

async function resolveEndpoint(target: S3Target, endpointConfig: EndpointConfig): Promise<Endpoint> {
  // Credentials are not read by endpoint resolution; placeholders keep the provider chain out.
  const placeholder: TemporaryCredentials = { accessKeyId: 'ENDPOINT', secretAccessKey: 'ENDPOINT', sessionToken: 'ENDPOINT', expiration: new Date(8.64e15) };
  const client = new S3Client(endpointConfig(target, placeholder, 0));
  try {
    const resolved = await getEndpointFromInstructions({ Bucket: target.bucket, Key: 'k' }, PutObjectCommand, client.config);
    const scheme = (resolved.properties?.authSchemes as { name?: string; signingRegion?: string; signingName?: string }[] | undefined)?.[0];
    if (scheme === undefined || scheme.name !== 'sigv4') throw new Error(`the endpoint for bucket ${target.bucket} needs ${scheme?.name ?? 'no'} signing, not sigv4`);
    const url = resolved.url;
    return {
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port === '' ? undefined : Number(url.port),
      basePath: url.pathname.replace(/\/$/, ''),
      url: `${url.protocol}//${url.host}${url.pathname}${url.search}`,
      signingRegion: scheme.signingRegion ?? target.region,
      signingName: scheme.signingName ?? 's3',
    };
  } finally {
    client.destroy();
  }
}

function targetKey(target: S3Target): string {
  return JSON.stringify([target.bucket, target.region, target.endpoint ?? null, target.forcePathStyle]);
}

/** getPayloadHash's first rule, the only one a presign reaches: an x-amz-content-sha256 header is the payload hash. */
function payloadHash(headers: Record<string, string>): string {
  for (const [name, value] of Object.entries(headers)) if (name.toLowerCase() === SHA256_HEADER) return value;
  throw new Error('a presigned request carries x-amz-content-sha256');
}

function sameCredentials(a: TemporaryCredentials, b: TemporaryCredentials): boolean {
  return a.accessKeyId === b.accessKeyId && a.secretAccessKey === b.secretAccessKey && a.sessionToken === b.sessionToken
    && a.expiration.getTime() === b.expiration.getTime();
}

/** The serializer's `{Key+}`: each segment percent-encoded (RFC 3986 unreserved kept), slashes kept. */
export function greedyLabel(key: string): string {
  return key.split('/').map(extendedEncodeURIComponent).join('/');
}

/** formatUrl + buildQueryString as the SDK has them: keys sorted, names and values escaped, arrays repeated. */
export function formatUrl(protocol: string, host: string, path: string, query: Record<string, string | string[] | null>): string {
  const parts: string[] = [];
  for (const name of Object.keys(query).sort()) {
    const value = query[name];
    const escapedName = extendedEncodeURIComponent(name);
    if (Array.isArray(value)) for (const v of value) parts.push(`${escapedName}=${extendedEncodeURIComponent(v)}`);
    else parts.push(value === null || value === undefined ? escapedName : `${escapedName}=${extendedEncodeURIComponent(value)}`);
  }
  const scheme = protocol.endsWith(':') ? protocol : `${protocol}:`;
  return `${scheme}//${host}${path.startsWith('/') ? path : `/${path}`}${parts.length === 0 ? '' : `?${parts.join('&')}`}`;
}
