/**
 * Revocation, as pure rules: which operator revocations (domain/model.ts Revocation) match a caller,
 * the instant before which that caller's cached sessions are unusable, when an entry may be pruned,
 * and the Deny policy a partner's admin attaches to the partner role (Role-A) so that sessions and
 * presigned URLs already handed out stop working.
 *
 * STS credentials cannot be revoked by their issuer. What the broker can do is (1) stop issuing,
 * (2) never sign with a session it cached before the revocation, and (3) hand the partner a Deny
 * keyed on what every broker session carries: `aws:SourceIdentity` (set by rules/sessionIdentity.ts
 * to `sb.<partner>.<client>.<subject segment>`, fitted to 64 characters) and the `partner`/`client`
 * session tags (`aws:PrincipalTag/...`), with `aws:TokenIssueTime` before the revocation instant.
 * IAM evaluates a role's policies on every request, presigned URLs included (they carry the
 * session's token), so the Deny also stops URLs signed before the revocation.
 */
import type { Caller, Partition, Partner, Revocation } from '../domain/model.js';
import { MAX_CHAINED_SESSION_SECONDS } from './limits.js';
import { partitionOf } from './partition.js';
import { sessionIdentity } from './sessionIdentity.js';
import { encodeSubject } from './subject.js';

/**
 * IAM's limit on the aggregate size of a role's inline policies (characters, whitespace not
 * counted). The Deny shares it with the role's permission policy (`sts-broker`).
 */
export const ROLE_INLINE_POLICY_CHARS = 10_240;
/** The inline policy name the Deny is attached under (distinct from the `sts-broker` permission policy). */
export const REVOCATION_POLICY_NAME = 'sts-broker-revocations';
/**
 * Kept beyond the longest session: clock skew between the operator's machine, the broker and AWS,
 * plus presigned URLs' own checks. Five minutes is AWS's own SigV4 skew tolerance.
 */
export const PRUNE_MARGIN_SECONDS = 300;

/** What a revocation matches against: the authenticated caller. */
export type RevocationCaller = Pick<Caller, 'partnerId' | 'clientId' | 'method' | 'subject'>;

/** Whether `revocation` (of the caller's partner) applies to `caller`, active or not. */
export function revocationMatches(revocation: Revocation, caller: RevocationCaller): boolean {
  const target = revocation.target;
  switch (target.kind) {
    case 'partner':
      return true;
    case 'client':
      return target.clientId === caller.clientId;
    case 'key':
      // An API-key caller's subject is its key id (auth/authenticate.ts); JWT callers have no key.
      return caller.method === 'api-key' && target.clientId === caller.clientId && target.keyId === caller.subject;
    case 'subject':
      // Raw subjects compare exactly; the encoded segment is derived from it, so it would add nothing.
      return target.clientId === caller.clientId && target.subject === caller.subject;
  }
}

/** The partner's revocations that apply to `caller` (active and lifted). */
export function matchingRevocations(partner: Pick<Partner, 'revocations'>, caller: RevocationCaller): Revocation[] {
  return (partner.revocations ?? []).filter((r) => revocationMatches(r, caller));
}

/**
 * Why nothing may be issued to `caller`, or undefined: a disabled partner or client, or an active
 * revocation that matches. The message is for the caller's 403 and names no secret.
 */
export function refusalReason(partner: Partner, caller: RevocationCaller): string | undefined {
  if (partner.disabled === true) return 'access for this partner is disabled';
  const client = Object.hasOwn(partner.clients, caller.clientId) ? partner.clients[caller.clientId] : undefined;
  if (client?.disabled === true) return 'access for this client is disabled';
  const active = matchingRevocations(partner, caller).find((r) => r.active);
  if (active === undefined) return undefined;
  return `access was revoked (${active.target.kind})`;
}

/**
 * The instant (ms since the epoch) before which a session of `caller` must not be used, or
 * undefined: the latest `at` of every matching revocation, lifted ones included. After a subject
 * is revoked and re-enabled, sessions cached before the revocation stay unusable; sessions made
 * after it are fine. An unparseable `at` (the schema refuses it) counts as "now", failing closed.
 */
export function sessionNotBefore(partner: Pick<Partner, 'revocations'>, caller: RevocationCaller, now: number): number | undefined {
  let latest: number | undefined;
  for (const r of matchingRevocations(partner, caller)) {
    const at = Date.parse(r.at);
    const instant = Number.isFinite(at) ? at : now;
    if (latest === undefined || instant > latest) latest = instant;
  }
  return latest;
}

/**
 * The longest a session of this partner can live: its `maxDurationSeconds`, capped by role
 * chaining (the broker assumes Role-A with its own role's session, so STS caps it at 1 hour).
 */
export function maxSessionSeconds(partner: Pick<Partner, 'maxDurationSeconds'>): number {
  return Math.min(partner.maxDurationSeconds, MAX_CHAINED_SESSION_SECONDS);
}

/**
 * The revocations still worth keeping at `now`: every active one (dropping it would re-enable the
 * target) and every lifted one whose sessions may still be alive (issued before `at`, so dead by
 * `at` + the longest session + margin). Order is kept.
 */
export function pruneRevocations(partner: Pick<Partner, 'revocations' | 'maxDurationSeconds'>, now: number, marginSeconds = PRUNE_MARGIN_SECONDS): Revocation[] {
  const keepMs = (maxSessionSeconds(partner) + marginSeconds) * 1000;
  return (partner.revocations ?? []).filter((r) => {
    if (r.active) return true;
    const at = Date.parse(r.at);
    return !Number.isFinite(at) || at + keepMs > now;
  });
}

/** Which session condition identifies a revocation's sessions. */
function sessionCondition(partnerId: string, revocation: Revocation): Record<string, Record<string, string>> {
  const target = revocation.target;
  switch (target.kind) {
    case 'partner':
      return { StringEquals: { 'aws:PrincipalTag/partner': partnerId } };
    case 'client':
      // Tags, not a SourceIdentity prefix: a long name is fitted with a digest and loses its tail.
      return { StringEquals: { 'aws:PrincipalTag/partner': partnerId, 'aws:PrincipalTag/client': target.clientId } };
    case 'key':
    case 'subject': {
      // The exact SourceIdentity the broker set: one value names partner, client and subject.
      const subject = target.kind === 'key' ? target.keyId : target.subject;
      const identity = sessionIdentity({ partnerId, clientId: target.clientId, subject, subjectSegment: encodeSubject(subject), method: target.kind === 'key' ? 'api-key' : 'jwt' });
      return { StringEquals: { 'aws:SourceIdentity': identity.sourceIdentity } };
    }
  }
}

/** One Deny statement: S3 on the partner's bucket, for the matched sessions issued before `at`. */
export function revocationStatement(partnerId: string, partner: Pick<Partner, 'bucket' | 'roleArn'>, revocation: Revocation, index: number): object {
  const partition: Partition = partitionOf(partner.roleArn);
  const bucketArn = `arn:${partition}:s3:::${partner.bucket}`;
  const at = new Date(Date.parse(revocation.at)).toISOString().replace(/\.000Z$/, 'Z');
  return {
    Sid: `BrokerRevoked${index + 1}`,
    Effect: 'Deny',
    // Every S3 action, not only those granted today: a grant may have been wider when the session was made.
    Action: 's3:*',
    Resource: [bucketArn, `${bucketArn}/*`],
    Condition: { ...sessionCondition(partnerId, revocation), DateLessThan: { 'aws:TokenIssueTime': at } },
  };
}

export interface RevocationPolicy {
  /** The policy document, or undefined when no revocation is kept (then delete the inline policy). */
  document: object | undefined;
  /** Characters of the minified document (IAM does not count whitespace). */
  chars: number;
  /** The revocations it covers, after pruning. */
  covered: Revocation[];
  /** Revocations left out because the document would exceed `maxChars` (oldest kept first): apply them by other means. */
  leftOut: Revocation[];
}

/**
 * The Deny for Role-A covering the partner's revocations that still matter at `now` (see
 * pruneRevocations), within `maxChars` (default: the role's inline budget less `reservedChars`,
 * the size of its permission policy). Revocations that do not fit are listed in `leftOut`,
 * never silently dropped.
 */
export function revocationPolicy(
  partnerId: string,
  partner: Pick<Partner, 'bucket' | 'roleArn' | 'revocations' | 'maxDurationSeconds'>,
  now: number,
  options: { reservedChars?: number; maxChars?: number } = {},
): RevocationPolicy {
  const maxChars = options.maxChars ?? ROLE_INLINE_POLICY_CHARS - (options.reservedChars ?? 0);
  const kept = pruneRevocations(partner, now);
  const covered: Revocation[] = [];
  const leftOut: Revocation[] = [];
  const statements: object[] = [];
  for (const r of kept) {
    const candidate = [...statements, revocationStatement(partnerId, partner, r, statements.length)];
    if (policyChars(candidate) <= maxChars) {
      statements.push(candidate[candidate.length - 1]!);
      covered.push(r);
    } else {
      leftOut.push(r);
    }
  }
  if (statements.length === 0) return { document: undefined, chars: 0, covered, leftOut };
  const document = { Version: '2012-10-17', Statement: statements };
  return { document, chars: JSON.stringify(document).length, covered, leftOut };
}

function policyChars(statements: object[]): number {
  return JSON.stringify({ Version: '2012-10-17', Statement: statements }).length;
}
