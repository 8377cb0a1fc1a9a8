/**
 * Config rules that span fields or need more than one value's worth of context, run after the
 * zod schema has accepted the shape. Each finding names a dotted path so the broker can refuse
 * to start with the bad field named (docs/security.md lists the rules).
 */
import { MAX_OBJECT_KEY_BYTES } from '../rules/limits.js';
import { partitionOf } from '../rules/partition.js';
import { buildSessionPolicy } from '../rules/sessionPolicy.js';
import { pathRuleViolation, utf8Bytes } from '../rules/objectKey.js';
import { endpointProblem, isLoopbackHost } from '../rules/loopback.js';
import type { ConfigFindings, ConfigIssue } from '../rules/issues.js';
import type { BrokerConfig, ClientConfig, JwtClientConfig, PartnerConfig } from './schema.js';
import { subjectFolderFindings } from '../rules/subjectFolders.js';

export type { ConfigFindings, ConfigIssue } from '../rules/issues.js';

const SUB = '${sub}';
/** The longest segment `${sub}` can become (see grants/subject.ts). */
const MAX_SUBJECT_SEGMENT = 64;

interface ClientAt {
  path: string;
  partnerId: string;
  clientId: string;
  partner: PartnerConfig;
  client: ClientConfig;
}

/** Every client with its dotted path, in config order. */
function clientsOf(config: BrokerConfig): ClientAt[] {
  return Object.entries(config.partners).flatMap(([partnerId, partner]) =>
    Object.entries(partner.clients).map(([clientId, client]) => ({
      path: `partners.${partnerId}.clients.${clientId}`, partnerId, clientId, partner, client,
    })));
}

/** The issues that refuse `config`; empty when it is acceptable. */
export function crossChecks(config: BrokerConfig): ConfigIssue[] {
  return crossCheckFindings(config).issues;
}

/** Issues (refusals) and notices (accepted, worth an operator's eye) for `config`. */
export function crossCheckFindings(config: BrokerConfig): ConfigFindings {
  const clients = clientsOf(config);
  const allow = config.allowInsecureLoopbackHttp;
  // Folder ownership is only meaningful between prefixes that passed their own rules.
  const folders = subjectFolderFindings(clients.filter((c) => prefixIssues(c).length === 0));
  const issues = [
    ...Object.entries(config.partners).flatMap(([partnerId, partner]) => partnerEndpointIssues(`partners.${partnerId}`, partner, allow)),
    ...duplicateApiKeys(clients),
    ...overlappingJwtClients(clients),
    ...clients.flatMap((c) => prefixIssues(c)),
    ...folders.issues,
    ...clients.flatMap((c) => (c.client.jwt ? jwtUrlIssues(c, c.client.jwt, allow) : [])),
    ...clients.flatMap((c) => corsOriginIssues(c, allow)),
    ...clients.flatMap((c) => clientDurationIssues(c)),
    ...clients.flatMap((c) => widestPolicyIssues(c)),
  ];
  return { issues, notices: folders.notices };
}

/**
 * STS answers carry a secret key and S3 carries the partner's data: both endpoints are https
 * (loopback http only for local development, with allowInsecureLoopbackHttp).
 */
function partnerEndpointIssues(path: string, partner: PartnerConfig, allow: boolean): ConfigIssue[] {
  return (['stsEndpoint', 's3Endpoint'] as const).flatMap((field) => {
    const value = partner[field];
    const problem = value === undefined ? undefined : endpointProblem(value, allow);
    return problem === undefined ? [] : [{ path: `${path}.${field}`, message: problem }];
  });
}

/**
 * Why `value` is not a CORS origin the broker can match, or undefined. Browsers send `Origin` as
 * scheme://host[:port], lowercase, default port omitted: anything else would never match (or, for
 * `*` and `null`, match far too much), so it is refused rather than silently dead.
 */
export function corsOriginProblem(value: string, allowInsecureLoopbackHttp: boolean): string | undefined {
  if (value.includes('*')) return 'must not contain "*" (no wildcard origins): list each allowed origin, like https://app.example.com';
  if (value.toLowerCase() === 'null') return 'must not be "null": sandboxed frames, file: pages and redirects all send it, so it names no one';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an origin: scheme://host[:port], like https://app.example.com';
  }
  if (url.username !== '' || url.password !== '') return 'must not carry credentials (user:password@)';
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an https origin, like https://app.example.com';
  if (url.protocol === 'http:') {
    if (!isLoopbackHost(url.hostname)) return 'must be an https origin (http only for 127.0.0.0/8, localhost or [::1] with allowInsecureLoopbackHttp: true)';
    if (!allowInsecureLoopbackHttp) return 'http is allowed only on loopback (127.0.0.0/8, localhost, [::1]) with allowInsecureLoopbackHttp: true';
  }
  if (url.search !== '' || value.includes('?')) return 'must not have a query: an origin is scheme://host[:port] only';
  if (url.hash !== '' || value.includes('#')) return 'must not have a fragment: an origin is scheme://host[:port] only';
  if (url.pathname !== '/' || value.endsWith('/')) return 'must not have a path or a trailing "/": an origin is scheme://host[:port] only';
  if (value !== url.origin) return `must be written as browsers send it: "${url.origin}"`;
  return undefined;
}

function corsOriginIssues({ path, client }: ClientAt, allow: boolean): ConfigIssue[] {
  return client.cors.origins.flatMap((origin, i) => {
    const problem = corsOriginProblem(origin, allow);
    return problem === undefined ? [] : [{ path: `${path}.cors.origins.${i}`, message: problem }];
  });
}

/**
 * A grant whose widest session policy (all its actions, `${sub}` at its longest) exceeds STS's
 * limit could never vend whole-grant credentials: refuse it at start, not on every request.
 */
function widestPolicyIssues(at: ClientAt): ConfigIssue[] {
  const { path, partner, client } = at;
  if (prefixIssues(at).length > 0) return [];
  const prefix = client.prefix.replaceAll(SUB, 'x'.repeat(MAX_SUBJECT_SEGMENT));
  try {
    buildSessionPolicy({ partition: partitionOf(partner.roleArn), bucket: partner.bucket, prefix, actions: client.actions });
    return [];
  } catch (err) {
    return [{ path: `${path}.prefix`, message: `too long: ${(err as Error).message}` }];
  }
}

/** Key ids and hashes are global: a key must identify exactly one client. */
function duplicateApiKeys(clients: ClientAt[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const seenIds = new Map<string, string>();
  const seenHashes = new Map<string, string>();
  for (const { path, client } of clients) {
    (client.apiKeys ?? []).forEach((key, i) => {
      const at = `${path}.apiKeys.${i}`;
      const idOwner = seenIds.get(key.id);
      if (idOwner) issues.push({ path: `${at}.id`, message: `duplicate API key id "${key.id}" (also ${idOwner})` });
      else seenIds.set(key.id, at);
      const hashOwner = seenHashes.get(key.sha256);
      if (hashOwner) issues.push({ path: `${at}.sha256`, message: `duplicate API key hash (also ${hashOwner})` });
      else seenHashes.set(key.sha256, at);
    });
  }
  return issues;
}

/** `null` means "any audience", so it overlaps every other audience of the same issuer. */
function audiencesOverlap(a: JwtClientConfig['audience'], b: JwtClientConfig['audience']): boolean {
  if (a === null || b === null) return true;
  const left = new Set(typeof a === 'string' ? [a] : a);
  return (typeof b === 'string' ? [b] : b).some((aud) => left.has(aud));
}

/** A token must select one client before any JWKS fetch: (issuer, audience) pairs may not overlap. */
function overlappingJwtClients(clients: ClientAt[]): ConfigIssue[] {
  const jwtClients = clients.flatMap((c) => (c.client.jwt ? [{ ...c, jwt: c.client.jwt }] : []));
  const issues: ConfigIssue[] = [];
  jwtClients.forEach((later, i) => {
    const earlier = jwtClients.slice(0, i).find((e) => e.jwt.issuer === later.jwt.issuer && audiencesOverlap(e.jwt.audience, later.jwt.audience));
    if (earlier) {
      issues.push({
        path: `${later.path}.jwt.audience`,
        message: `issuer "${later.jwt.issuer}" with an overlapping audience is also configured for ${earlier.path}: a token would match both clients`,
      });
    }
  });
  return issues;
}

/** `${sub}` placement, then the same character rules as object keys, then room left for keys. */
function prefixIssues({ path, client }: Pick<ClientAt, 'path' | 'client'>): ConfigIssue[] {
  const at = `${path}.prefix`;
  const { prefix } = client;
  const subCount = prefix.split(SUB).length - 1;
  if (subCount > 0 && client.apiKeys) {
    return [{ path: at, message: '${sub} is only for JWT clients: an API-key client has no per-user subject' }];
  }
  if (subCount > 1) return [{ path: at, message: '${sub} may appear at most once' }];
  const segments = prefix.slice(0, -1).split('/');
  if (subCount === 1 && !segments.includes(SUB)) {
    return [{ path: at, message: '${sub} must be a whole path segment (…/${sub}/)' }];
  }
  if (/\p{Cs}/u.test(prefix)) return [{ path: at, message: 'must be well-formed Unicode (no lone surrogates)' }];
  // Prefixes are matched byte for byte by S3 and IAM, while keys are NFC-normalised: a non-NFC
  // prefix could never contain a key, so refuse it rather than normalise behind the author's back.
  if (prefix.normalize('NFC') !== prefix) return [{ path: at, message: 'must be NFC-normalised Unicode' }];
  // `${sub}` is checked above; stand a safe segment in for it so the key rules see a real path.
  const problem = pathRuleViolation(prefix.slice(0, -1).replace(SUB, 'x'));
  if (problem !== undefined) return [{ path: at, message: problem }];
  const worstCase = utf8Bytes(prefix.replace(SUB, 'x'.repeat(MAX_SUBJECT_SEGMENT)));
  if (worstCase >= MAX_OBJECT_KEY_BYTES) {
    return [{ path: at, message: `is ${worstCase} bytes of UTF-8 (with \${sub} at its longest); it must leave room under the ${MAX_OBJECT_KEY_BYTES}-byte key limit` }];
  }
  return [];
}

function jwtUrlIssues({ path }: ClientAt, jwt: JwtClientConfig, allowInsecureLoopbackHttp: boolean): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const issuerProblem = endpointProblem(jwt.issuer, allowInsecureLoopbackHttp);
  if (issuerProblem) issues.push({ path: `${path}.jwt.issuer`, message: issuerProblem });
  const jwksProblem = jwt.jwksUri === undefined ? undefined : endpointProblem(jwt.jwksUri, allowInsecureLoopbackHttp);
  if (jwksProblem) issues.push({ path: `${path}.jwt.jwksUri`, message: jwksProblem });
  return issues;
}

/** A client may narrow its partner's session cap, never widen it. */
function clientDurationIssues({ path, partner, client }: ClientAt): ConfigIssue[] {
  if (client.maxDurationSeconds === undefined || client.maxDurationSeconds <= partner.maxDurationSeconds) return [];
  return [{ path: `${path}.maxDurationSeconds`, message: `must not exceed the partner's maxDurationSeconds (${partner.maxDurationSeconds})` }];
}
