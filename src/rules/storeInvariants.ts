/**
 * Whole-store invariants: the rules no single client can be checked against alone, which every
 * grant store must keep whoever writes it. The YAML loader runs them on the whole config
 * (config/crossChecks.ts); a database writer runs the same function on the clients it would hold
 * after a change, and refuses the change on any issue. Each finding names a dotted path.
 *
 * - an API key id and a key hash identify exactly one client;
 * - an (issuer, audience) pair selects exactly one JWT client, before any JWKS fetch;
 * - a prefix places `${sub}` as one whole segment (JWT clients only) and obeys the key rules;
 * - no grant reaches another's `${sub}` folders (./subjectFolders.ts).
 */
import type { Client, JwtClientSettings, Partner } from '../domain/model.js';
import type { ConfigFindings, ConfigIssue } from './issues.js';
import { MAX_OBJECT_KEY_BYTES } from './limits.js';
import { pathRuleViolation, utf8Bytes } from './objectKey.js';
import { subjectFolderFindings } from './subjectFolders.js';
import { SUBJECT_SEGMENT_MAX_CHARS } from './subject.js';

export const SUB = '${sub}';
/** The longest segment `${sub}` can become (see ./subject.ts). */
export const MAX_SUBJECT_SEGMENT = SUBJECT_SEGMENT_MAX_CHARS;

/** A client of the store, with the dotted path findings name (`partners.acme.clients.app`). */
export interface StoreClient {
  path: string;
  partnerId: string;
  clientId: string;
  partner: Partner;
  client: Client;
}

/** Every whole-store issue (refusals) and notice (accepted, worth an operator's eye) for these clients. */
export function storeInvariantFindings(clients: StoreClient[]): ConfigFindings {
  // Folder ownership is only meaningful between prefixes that passed their own rules.
  const folders = subjectFolderFindings(clients.filter((c) => prefixIssues(c).length === 0));
  const issues = [
    ...duplicateApiKeys(clients),
    ...overlappingJwtClients(clients),
    ...clients.flatMap((c) => prefixIssues(c)),
    ...folders.issues,
  ];
  return { issues, notices: folders.notices };
}

/** Key ids and hashes are global: a key must identify exactly one client. */
function duplicateApiKeys(clients: StoreClient[]): ConfigIssue[] {
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
function audiencesOverlap(a: JwtClientSettings['audience'], b: JwtClientSettings['audience']): boolean {
  if (a === null || b === null) return true;
  const left = new Set(typeof a === 'string' ? [a] : a);
  return (typeof b === 'string' ? [b] : b).some((aud) => left.has(aud));
}

/** A token must select one client before any JWKS fetch: (issuer, audience) pairs may not overlap. */
function overlappingJwtClients(clients: StoreClient[]): ConfigIssue[] {
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
export function prefixIssues({ path, client }: Pick<StoreClient, 'path' | 'client'>): ConfigIssue[] {
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

