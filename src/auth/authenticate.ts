/**
 * Who is calling: one credential per request, either an API key (`X-Api-Key`, or `Authorization:
 * Bearer sbk_…`) or an OIDC JWT (`Authorization: Bearer <jwt>`). The container-credentials route
 * also takes a bare `Authorization: sbk_…`, because the AWS SDKs send
 * AWS_CONTAINER_AUTHORIZATION_TOKEN verbatim, without a scheme.
 */
import { UnauthenticatedError } from '../domain/errors.js';
import { encodeSubject } from '../rules/subject.js';
import type { Caller } from '../domain/model.js';
import type { GrantStore, TokenVerifier } from '../ports/ports.js';
import { looksLikeApiKey, verifyApiKey } from './apiKey.js';

export interface AuthenticateDeps {
  store: Pick<GrantStore, 'findApiKey'>;
  /** A JwtVerifier (./jwt.ts), or a fake. */
  jwt: TokenVerifier;
  now: () => Date;
}

export interface AuthenticateOptions {
  /** Accept `Authorization: sbk_…` with no scheme (the container-credentials route only). */
  allowBareAuthorizationApiKey: boolean;
}

type Credential = { kind: 'api-key'; value: string } | { kind: 'jwt'; value: string };

const BEARER = /^Bearer(?:[ \t]+(.*))?$/i;

/** Authenticates a request from its (lower-cased) headers; throws UnauthenticatedError. */
export async function authenticate(
  headers: Record<string, string | undefined>,
  deps: AuthenticateDeps,
  opts: AuthenticateOptions,
): Promise<Caller> {
  const credential = credentialFrom(headers, opts);
  if (credential.kind === 'api-key') {
    const key = await verifyApiKey(deps.store, credential.value, deps.now());
    // Key ids are already safe segments, so the subject stays readable in CloudTrail and logs.
    return { partnerId: key.partnerId, clientId: key.clientId, method: 'api-key', subject: key.keyId, subjectSegment: encodeSubject(key.keyId) };
  }
  const token = await deps.jwt.verify(credential.value);
  return { partnerId: token.partnerId, clientId: token.clientId, method: 'jwt', subject: token.subject, subjectSegment: encodeSubject(token.subject) };
}

/** Picks the one credential a request carries; two, none or an unknown scheme are refused. */
function credentialFrom(headers: Record<string, string | undefined>, opts: AuthenticateOptions): Credential {
  const apiKey = headers['x-api-key'];
  const authorization = headers['authorization'];
  // Two credentials could name two different clients; refusing beats guessing which one counts.
  if (apiKey !== undefined && authorization !== undefined) throw new UnauthenticatedError('send one credential, not both');
  if (apiKey !== undefined) return { kind: 'api-key', value: apiKey.trim() };
  if (authorization === undefined) {
    throw new UnauthenticatedError('missing credentials: send X-Api-Key or Authorization: Bearer <token>');
  }
  const value = authorization.trim();
  if (opts.allowBareAuthorizationApiKey && looksLikeApiKey(value)) return { kind: 'api-key', value };
  const bearer = BEARER.exec(value);
  if (!bearer) throw new UnauthenticatedError('unsupported Authorization scheme: send Authorization: Bearer <token>');
  const presented = (bearer[1] ?? '').trim();
  if (presented === '') throw new UnauthenticatedError('missing bearer token');
  return looksLikeApiKey(presented) ? { kind: 'api-key', value: presented } : { kind: 'jwt', value: presented };
}
