import { MAX_SESSION_POLICY_CHARS } from './limits.js';
import { PolicyTooLargeError } from '../domain/errors.js';
import { ACTIONS, type Action } from '../domain/actions.js';
import type { Scope } from '../ports/ports.js';

/** The S3 IAM actions each object verb grants; `list` is a bucket action and handled apart. */
export const OBJECT_ACTIONS: Readonly<Record<Exclude<Action, 'list'>, readonly string[]>> = {
  read: ['s3:GetObject'],
  // Multipart uploads need the part-level actions too; abort lets a client clean up its own upload.
  write: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
  delete: ['s3:DeleteObject'],
};

/** IAM reads `*` and `?` as wildcards and `${…}` as a variable inside an ARN (Polaris CVE-2026-42810). */
const IAM_SPECIAL = /[*?$]/;

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
  for (const [field, value] of [['bucket', scope.bucket], ['prefix', scope.prefix], ['objectKey', scope.objectKey]] as const) {
    if (value !== undefined && IAM_SPECIAL.test(value)) {
      throw new TypeError(`scope.${field} contains *, ? or $, which IAM would read as a wildcard or variable`);
    }
  }
  // Without the trailing "/", "acme*" would also match "acme2/…".
  if (!scope.prefix.endsWith('/')) throw new TypeError('scope.prefix must be non-empty and end with "/"');
  if (scope.objectKey !== undefined && !(scope.objectKey.startsWith(scope.prefix) && scope.objectKey.length > scope.prefix.length)) {
    throw new TypeError('scope.objectKey must be a key inside scope.prefix');
  }
}

function objectStatement(scope: Scope): Statement | undefined {
  // Iterate ACTIONS, not scope.actions, so the JSON is the same whatever order the caller listed verbs in.
  const actions = ACTIONS.filter((a): a is Exclude<Action, 'list'> => a !== 'list' && scope.actions.includes(a))
    .flatMap((a) => OBJECT_ACTIONS[a]);
  if (actions.length === 0) return undefined;
  const objectPath = scope.objectKey ?? `${scope.prefix}*`;
  return { Sid: 'Objects', Effect: 'Allow', Action: actions, Resource: `arn:${scope.partition}:s3:::${scope.bucket}/${objectPath}` };
}

function listStatement(scope: Scope): Statement | undefined {
  // A presign binds one key: listing would reveal more than that key.
  if (scope.objectKey !== undefined || !scope.actions.includes('list')) return undefined;
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
