/**
 * How a session names its caller in CloudTrail: RoleSessionName, SourceIdentity and session tags,
 * all derived from (partner, client, subject segment) so that audit trails join on one value.
 */
import { createHash } from 'node:crypto';
import { MAX_SESSION_NAME_LENGTH, SESSION_NAME_PATTERN, TAG_VALUE_PATTERN } from './limits.js';
import type { Caller, SessionTag } from '../domain/model.js';
import { base32 } from './subject.js';

/** Digest chars kept when a name must be shortened: 100 bits, ample to tell sessions apart. */
const NAME_DIGEST_CHARS = 20;
/** Separates the readable head from the digest; never occurs in ids or subject segments. */
const DIGEST_MARK = '@';
const MAX_TAG_VALUE = 256;

export interface SessionIdentity {
  roleSessionName: string;
  sourceIdentity: string;
  tags: SessionTag[];
}

/**
 * `name` if it is a valid session name; otherwise its longest readable head (charset chars, no
 * `@`) cut to leave room for `@` + a digest of the whole name, so the result stays deterministic
 * and still distinguishes callers whose names share the head.
 */
export function fitSessionName(name: string): string {
  if (SESSION_NAME_PATTERN.test(name) && !name.includes(DIGEST_MARK)) return name;
  const digest = base32(createHash('sha256').update(name, 'utf8').digest()).slice(0, NAME_DIGEST_CHARS);
  const head = /^[\w+=,.-]*/.exec(name)![0].slice(0, MAX_SESSION_NAME_LENGTH - DIGEST_MARK.length - NAME_DIGEST_CHARS);
  return `${head}${DIGEST_MARK}${digest}`;
}

/** Tag values allow a wider set than session names, but not everything a request id may hold. */
function tagValue(value: string): string {
  const clean = [...value].map((ch) => (TAG_VALUE_PATTERN.test(ch) ? ch : '_')).join('');
  return clean.slice(0, MAX_TAG_VALUE);
}

/**
 * RoleSessionName `sb.<partner>.<client>.<subjectSegment>` (fitted to 64 chars), the same value
 * as SourceIdentity (it starts with `sb.`, so never with the reserved `aws:`), and the tags
 * partner, client, subject and, when given, request-id.
 */
export function sessionIdentity(caller: Caller, opts: { requestId?: string } = {}): SessionIdentity {
  const name = fitSessionName(`sb.${caller.partnerId}.${caller.clientId}.${caller.subjectSegment}`);
  const tags: SessionTag[] = [
    { key: 'partner', value: tagValue(caller.partnerId) },
    { key: 'client', value: tagValue(caller.clientId) },
    { key: 'subject', value: tagValue(caller.subjectSegment) },
  ];
  if (opts.requestId !== undefined) tags.push({ key: 'request-id', value: tagValue(opts.requestId) });
  return { roleSessionName: name, sourceIdentity: name, tags };
}
