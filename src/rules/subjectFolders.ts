/**
 * Which grant owns which folder of a bucket. Inside one client, `${sub}` gives every subject its own
 * folder (./subject.ts turns any subject into one safe segment, injectively). Across clients
 * and partners on one bucket nothing guaranteed that, so this check does: it reads `${sub}` as "any
 * one segment a subject can become" and refuses every pair of prefixes through which one grant
 * could reach another's data:
 *
 * - a `${sub}` folder equal to, inside or above another client's literal prefix
 *   (`tenants/${sub}/` next to `tenants/billing/`: the subject `billing` would own the back end's
 *   files; `${sub}/` next to `acme/`: the subject `acme` reaches `acme/x`);
 * - one folder reachable from two templates (`users/${sub}/` for two issuers, or for two clients of
 *   one issuer; `users/${sub}/` and `users/${sub}/photos/`; `${sub}/x/` and `a/${sub}/`);
 *
 * unless a literal segment keeps them apart (`web/${sub}/` and `mobile/${sub}/`; a literal segment
 * no subject can become, like one with `@` or non-ASCII letters, also does). Two exceptions stay
 * allowed and are reported as notices:
 *
 * - a literal prefix that is a prefix of a template's text before `${sub}`: a partner's back end at
 *   `acme/` over its app users' `acme/users/${sub}/` (the back end is trusted with them);
 * - two clients of one partner and one issuer (web and mobile audiences of one user base) with the
 *   same template, when both name each other in `sharesSubjectFoldersWith`.
 *
 * Two literal prefixes, equal or nested (`acme/` and `acme/x/`), are left as they were: no subject
 * chooses where they point, the operator wrote both. Nested ones are listed as a notice.
 */
import type { Client, Partner } from '../domain/model.js';
import { partitionOf } from './partition.js';
import { SUBJECT_SEGMENT } from './subject.js';
import type { ConfigFindings, ConfigIssue } from './issues.js';

const SUB = '${sub}';

/** A client as this check sees it; only clients whose prefix passed the per-prefix rules. */
export interface FolderClient {
  /** Dotted path of the client (`partners.acme.clients.app`). */
  path: string;
  partnerId: string;
  clientId: string;
  partner: Partner;
  client: Client;
}

/** Whether some subject's segment can equal the literal segment `segment` (see ./subject.ts). */
export function subjectCanBecome(segment: string): boolean {
  return SUBJECT_SEGMENT.test(segment) && segment !== '.' && segment !== '..';
}

/** How two prefixes on one bucket meet, with one pair of subjects that makes them meet. */
interface Meeting {
  /** The subject each side needs (undefined for a literal prefix). */
  subjects: [string | undefined, string | undefined];
  /** What each side's prefix becomes with those subjects. */
  folders: [string, string];
}

/** A name for "any subject" in messages when a template's `${sub}` meets no literal segment. */
const ANY_SUBJECT = 'alice';

/**
 * Whether some expansions of `a` and `b` are equal or one contains the other, and with which
 * subjects; undefined when a literal segment keeps them apart at every expansion.
 */
export function meeting(a: string, b: string): Meeting | undefined {
  const sa = a.slice(0, -1).split('/');
  const sb = b.slice(0, -1).split('/');
  const subjects: [string | undefined, string | undefined] = [undefined, undefined];
  for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
    const x = sa[i]!;
    const y = sb[i]!;
    if (x === SUB && y === SUB) {
      subjects[0] = ANY_SUBJECT;
      subjects[1] = ANY_SUBJECT;
    } else if (x === SUB) {
      if (!subjectCanBecome(y)) return undefined;
      subjects[0] = y;
    } else if (y === SUB) {
      if (!subjectCanBecome(x)) return undefined;
      subjects[1] = x;
    } else if (x !== y) {
      return undefined;
    }
  }
  // A `${sub}` past the end of the other prefix can be any subject.
  if (a.includes(SUB)) subjects[0] ??= ANY_SUBJECT;
  if (b.includes(SUB)) subjects[1] ??= ANY_SUBJECT;
  return {
    subjects,
    folders: [a.replace(SUB, subjects[0] ?? SUB), b.replace(SUB, subjects[1] ?? SUB)],
  };
}

/** The text of a template before `${sub}` (`acme/users/` for `acme/users/${sub}/`). */
function beforeSub(template: string): string {
  return template.slice(0, template.indexOf(SUB));
}

/** "inside", "above" or "the same folder as": how folder `x` stands to folder `y`. */
function relation(x: string, y: string): string {
  if (x === y) return 'the same folder as';
  return y.startsWith(x) ? 'above' : 'inside';
}

/** Partition and bucket name: one bucket, whichever partners point at it. */
function bucketOf(c: FolderClient): string {
  return `${partitionOf(c.partner.roleArn)}:${c.partner.bucket}`;
}

const isTemplate = (c: FolderClient): boolean => c.client.prefix.includes(SUB);

/**
 * Findings for `sharesSubjectFoldersWith` on every client, and the set of pairs (`path|path`,
 * either order) whose share is declared by both sides and valid.
 */
function shareDeclarations(clients: FolderClient[]): { issues: ConfigIssue[]; shared: Set<string> } {
  const issues: ConfigIssue[] = [];
  const byPartner = new Map<string, Map<string, FolderClient>>();
  for (const c of clients) {
    const partner = byPartner.get(c.partnerId) ?? new Map<string, FolderClient>();
    partner.set(c.clientId, c);
    byPartner.set(c.partnerId, partner);
  }
  const valid = new Set<string>();
  for (const c of clients) {
    const names = c.client.sharesSubjectFoldersWith ?? [];
    names.forEach((name, i) => {
      const at = `${c.path}.sharesSubjectFoldersWith.${i}`;
      const problem = shareProblem(c, name, byPartner.get(c.partnerId));
      if (problem !== undefined) issues.push({ path: at, message: problem });
      else valid.add(`${c.path}|${c.partnerId}:${name}`);
    });
  }
  const shared = new Set<string>();
  for (const c of clients) {
    (c.client.sharesSubjectFoldersWith ?? []).forEach((name, i) => {
      if (!valid.has(`${c.path}|${c.partnerId}:${name}`)) return;
      const other = byPartner.get(c.partnerId)!.get(name)!;
      if (valid.has(`${other.path}|${c.partnerId}:${c.clientId}`)) {
        shared.add(`${c.path}|${other.path}`);
      } else {
        issues.push({
          path: `${c.path}.sharesSubjectFoldersWith.${i}`,
          message: `"${name}" does not name "${c.clientId}" in its sharesSubjectFoldersWith: both clients must declare the share`,
        });
      }
    });
  }
  return { issues, shared };
}

/** Why client `c` may not share its subject folders with the client named `name`; undefined when it may. */
function shareProblem(c: FolderClient, name: string, partnerClients: Map<string, FolderClient> | undefined): string | undefined {
  if (!c.client.jwt || !isTemplate(c)) return 'only a JWT client whose prefix has ${sub} can share subject folders';
  if (name === c.clientId) return 'a client cannot name itself';
  const other = partnerClients?.get(name);
  if (other === undefined) {
    return `no client "${name}" in partner "${c.partnerId}": subject folders can be shared only with a client of the same partner, bucket and issuer`;
  }
  if (!other.client.jwt || !isTemplate(other)) return `"${name}" has no \${sub} folders to share (it is not a JWT client with \${sub} in its prefix)`;
  if (other.client.jwt.issuer !== c.client.jwt.issuer) {
    return `"${name}" trusts issuer "${other.client.jwt.issuer}", this client "${c.client.jwt.issuer}": the same subject at two issuers can be two people, so their folders are never shared`;
  }
  if (other.client.jwt.subjectClaim !== c.client.jwt.subjectClaim) {
    return `"${name}" takes its subject from claim "${other.client.jwt.subjectClaim}", this client from "${c.client.jwt.subjectClaim}": shared folders need the same subject claim`;
  }
  if (other.client.prefix !== c.client.prefix) {
    return `"${name}" has prefix "${other.client.prefix}", this client "${c.client.prefix}": only identical \${sub} templates can be shared`;
  }
  return undefined;
}

/** Every folder collision between clients on one bucket (issues), and the allowed containments (notices). */
export function subjectFolderFindings(clients: FolderClient[]): ConfigFindings {
  const { issues, shared } = shareDeclarations(clients);
  const notices: ConfigIssue[] = [];
  clients.forEach((later, j) => {
    for (const earlier of clients.slice(0, j)) {
      if (bucketOf(earlier) !== bucketOf(later)) continue;
      const found = pairFinding(earlier, later, shared);
      if (found?.kind === 'issue') issues.push(found.finding);
      if (found?.kind === 'notice') notices.push(found.finding);
    }
  });
  return { issues, notices };
}

function pairFinding(earlier: FolderClient, later: FolderClient, shared: Set<string>): { kind: 'issue' | 'notice'; finding: ConfigIssue } | undefined {
  const m = meeting(earlier.client.prefix, later.client.prefix);
  if (m === undefined) return undefined;
  const bucket = `bucket "${later.partner.bucket}"`;
  const [e, l] = [earlier.client.prefix, later.client.prefix];
  // Two literal prefixes: the operator chose both; nested ones are worth a line.
  if (!isTemplate(earlier) && !isTemplate(later)) {
    if (e === l) return undefined;
    const [outer, inner] = e.length < l.length ? [earlier, later] : [later, earlier];
    return { kind: 'notice', finding: {
      path: `${outer.path}.prefix`,
      message: `contains ${inner.path}'s prefix "${inner.client.prefix}" on ${bucket}: this client reaches that client's files`,
    } };
  }
  // A literal prefix above the whole template: the partner's back end over its app users.
  const literal = !isTemplate(earlier) ? earlier : !isTemplate(later) ? later : undefined;
  const template = literal === earlier ? later : earlier;
  if (literal !== undefined && beforeSub(template.client.prefix).startsWith(literal.client.prefix)) {
    return { kind: 'notice', finding: {
      path: `${literal.path}.prefix`,
      message: `contains every \${sub} folder of ${template.path} ("${template.client.prefix}") on ${bucket}: this client reaches every one of its subjects' files`,
    } };
  }
  if (e === l && (shared.has(`${earlier.path}|${later.path}`) || shared.has(`${later.path}|${earlier.path}`))) {
    return { kind: 'notice', finding: {
      path: `${later.path}.prefix`,
      message: `shares its \${sub} folders with ${earlier.path} (declared by both in sharesSubjectFoldersWith): one subject of issuer "${later.client.jwt!.issuer}" has one folder for both clients`,
    } };
  }
  return { kind: 'issue', finding: { path: `${later.path}.prefix`, message: collisionMessage(earlier, later, m, bucket) } };
}

function folderOf(c: FolderClient, subject: string | undefined, folder: string): string {
  return subject === undefined ? `${c.path}'s prefix "${folder}"` : `${c.path}'s folder "${folder}" for subject "${subject}"`;
}

function collisionMessage(earlier: FolderClient, later: FolderClient, m: Meeting, bucket: string): string {
  const [fe, fl] = m.folders;
  const [se, sl] = m.subjects;
  let detail = `${folderOf(later, sl, fl)} is ${relation(fl, fe)} ${folderOf(earlier, se, fe)}`;
  const [ie, il] = [earlier.client.jwt?.issuer, later.client.jwt?.issuer];
  if (se !== undefined && se === sl && ie !== undefined && il !== undefined) {
    detail += ie === il ? ` (one subject of issuer "${il}" in two grants)` : ` (the same subject at issuers "${il}" and "${ie}" can be two people)`;
  }
  const sameIssuerTwin = later.client.prefix === earlier.client.prefix && later.partnerId === earlier.partnerId && il !== undefined && il === ie;
  const remedy = sameIssuerTwin
    ? 'give each client its own literal segment (like "web/${sub}/" and "mobile/${sub}/") or, for one user base on purpose, name each other in sharesSubjectFoldersWith'
    : 'keep them apart with a literal segment (like "web/${sub}/" next to "billing/"); a literal prefix may sit only above the text before ${sub}';
  return `\${sub} folders collide with ${earlier.path} on ${bucket}: ${detail}; ${remedy}`;
}
