/**
 * Scope → session policy. A policy always names a prefix (`<prefix>*`), never one key: presigned
 * URLs are signed by a session scoped to the grant prefix and one action (rules/scope.ts,
 * sessionScopeFor), which the session cache shares across that caller's URLs; the URL's own
 * signature binds the key. A per-key policy would cost one AssumeRole per URL.
 */
import { ACTIONS, type Action } from '../domain/actions.js';
import { PolicyTooLargeError } from '../domain/errors.js';
import type { Scope } from '../domain/model.js';
import { IAM_SPECIAL } from './identifiers.js';
import { MAX_SESSION_POLICY_CHARS } from './limits.js';

/** The S3 IAM actions each object verb grants; `list` is a bucket action and handled apart. */
export const OBJECT_ACTIONS: Readonly<Record<Exclude<Action, 'list'>, readonly string[]>> = {
  read: ['s3:GetObject'],
  // Multipart uploads need the part-level actions too; abort lets a client clean up its own upload.
  write: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
  delete: ['s3:DeleteObject'],
};


interface Statement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: string;
  Condition?: { StringLike: { 's3:prefix': string[] } };
}

/** The session policy (compact JSON) granting exactly `scope`, size-checked against STS's plaintext limit. */
export function buildSessionPolicy(scope: Scope): string {
  assertScope(scope);
  const statements = [objectStatement(scope), listStatement(scope)].filter((s) => s !== undefined);
  if (statements.length === 0) throw new TypeError('scope grants no action: refusing to build an empty session policy');
  const json = JSON.stringify({ Version: '2012-10-17', Statement: statements });
  if (json.length > MAX_SESSION_POLICY_CHARS) {
    throw new PolicyTooLargeError(
      `the session policy is ${json.length} characters; STS allows at most ${MAX_SESSION_POLICY_CHARS}: use a shorter prefix or key`,
    );
  }
  return json;
}

/** Upstream validation already guarantees these; a slip here would widen access, so check again. */
function assertScope(scope: Scope): void {
  for (const [field, value] of [['bucket', scope.bucket], ['prefix', scope.prefix]] as const) {
    if (IAM_SPECIAL.test(value)) {
      throw new TypeError(`scope.${field} contains *, ? or $, which IAM would read as a wildcard or variable`);
    }
  }
  // Without the trailing "/", "acme*" would also match "acme2/…".
  if (!scope.prefix.endsWith('/')) throw new TypeError('scope.prefix must be non-empty and end with "/"');
}

function objectStatement(scope: Scope): Statement | undefined {
  // Iterate ACTIONS, not scope.actions, so the JSON is the same whatever order the caller listed verbs in.
  const actions = ACTIONS.filter((a): a is Exclude<Action, 'list'> => a !== 'list' && scope.actions.includes(a))
    .flatMap((a) => OBJECT_ACTIONS[a]);
  if (actions.length === 0) return undefined;
  return { Sid: 'Objects', Effect: 'Allow', Action: actions, Resource: `arn:${scope.partition}:s3:::${scope.bucket}/${scope.prefix}*` };
}

function listStatement(scope: Scope): Statement | undefined {
  if (!scope.actions.includes('list')) return undefined;
  return {
    Sid: 'List',
    Effect: 'Allow',
    Action: ['s3:ListBucket'],
    Resource: `arn:${scope.partition}:s3:::${scope.bucket}`,
    // The exact prefix is named besides the wildcard: IAM's `*` matches the empty string anyway, but
    // evaluators differ (RGW locally) and the explicit entry says that listing the prefix itself is intended.
    Condition: { StringLike: { 's3:prefix': [scope.prefix, `${scope.prefix}*`] } },
  };
}
