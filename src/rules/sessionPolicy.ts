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
import type { SessionContract } from './uploadContract.js';

/** The S3 IAM actions each object verb grants; `list` is a bucket action and handled apart. */
export const OBJECT_ACTIONS: Readonly<Record<Exclude<Action, 'list'>, readonly string[]>> = {
  read: ['s3:GetObject'],
  // Multipart uploads need the part-level actions too; abort lets a client clean up its own upload.
  write: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
  delete: ['s3:DeleteObject'],
};


interface Statement {
  Sid: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: string;
  Condition?: Record<string, Record<string, string | string[]>>;
}

/**
 * The session policy (compact JSON) granting exactly `scope`, size-checked against STS's plaintext
 * limit. With an upload `contract` and the write action, Deny statements hold every write of the
 * session (the broker's own calls and, for vended credentials, the caller's) to what IAM can bind:
 * write-once, the contract's tags and SSE (see contractStatements); and SSE-KMS adds the KMS calls
 * S3 makes on the caller's behalf.
 */
export function buildSessionPolicy(scope: Scope, contract?: SessionContract): string {
  assertScope(scope);
  const statements = [objectStatement(scope, contract), listStatement(scope), ...contractStatements(scope, contract)].filter((s) => s !== undefined);
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

function objectStatement(scope: Scope, contract?: SessionContract): Statement | undefined {
  // Iterate ACTIONS, not scope.actions, so the JSON is the same whatever order the caller listed verbs in.
  const actions = ACTIONS.filter((a): a is Exclude<Action, 'list'> => a !== 'list' && scope.actions.includes(a))
    .flatMap((a) => OBJECT_ACTIONS[a]);
  // S3 authorises a PutObject (or CreateMultipartUpload) that carries x-amz-tagging as s3:PutObjectTagging too.
  if (scope.actions.includes('write') && contract !== undefined && Object.keys(contract.tags).length > 0) actions.push('s3:PutObjectTagging');
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

/**
 * The contract as IAM can state it, for a session that may write (and KMS for one that may read).
 *
 * - Write-once: deny an object-creating write (PutObject, CompleteMultipartUpload) without
 *   If-None-Match; `s3:ObjectCreationOperation` exempts CreateMultipartUpload and UploadPart, which
 *   take no conditional header.
 * - Tags: deny each per-caller tag sent with another value; SSE: deny another algorithm or key.
 *   Only a value that is present and different is denied, never an absent one: UploadPart and the
 *   completion carry no tagging or SSE header, so denying absence would break multipart uploads.
 *   The signed URL makes the client send them, and the partner's bucket default encryption covers
 *   a request without SSE headers (`npm run partner-policy` says so). "Present" is spelled with
 *   Null, not IfExists, which Ceph's evaluator reads the other way round (docs/upload-contracts.md).
 *   Extra tag keys are denied only by the bucket policy `partner-policy` prints: Ceph's STS refuses
 *   the ForAnyValue: qualifier on s3:RequestObjectTagKeys, and the broker's sessions must work there.
 * - Checksums and metadata have no IAM condition keys: only the signature binds them.
 */
function contractStatements(scope: Scope, contract: SessionContract | undefined): Statement[] {
  if (contract === undefined) return [];
  const resource = `arn:${scope.partition}:s3:::${scope.bucket}/${scope.prefix}*`;
  const out: Statement[] = [];
  const writes = scope.actions.includes('write');
  if (writes && contract.noOverwrite) {
    out.push({
      Sid: 'WriteOnce', Effect: 'Deny', Action: 's3:PutObject', Resource: resource,
      Condition: { Null: { 's3:if-none-match': 'true' }, Bool: { 's3:ObjectCreationOperation': 'true' } },
    });
  }
  const tagKeys = Object.keys(contract.tags);
  if (writes && tagKeys.length > 0) {
    const tagActions = ['s3:PutObject', 's3:PutObjectTagging'];
    Object.entries(contract.tags).forEach(([key, value], i) => {
      if (value === null) return;
      out.push({ Sid: `Tag${i}`, Effect: 'Deny', Action: tagActions, Resource: resource, Condition: whenPresentAndNot(`s3:RequestObjectTag/${key}`, value) });
    });
  }
  const sse = contract.encryption;
  if (writes && sse !== undefined) {
    out.push({ Sid: 'Sse', Effect: 'Deny', Action: 's3:PutObject', Resource: resource, Condition: whenPresentAndNot('s3:x-amz-server-side-encryption', sse.type) });
    if (sse.type === 'aws:kms') {
      out.push({
        Sid: 'SseKey', Effect: 'Deny', Action: 's3:PutObject', Resource: resource,
        Condition: whenPresentAndNot('s3:x-amz-server-side-encryption-aws-kms-key-id', sse.keyId),
      });
    }
  }
  if (sse?.type === 'aws:kms') {
    const kms = [
      ...(writes ? ['kms:GenerateDataKey'] : []),
      // multipart uploads decrypt the data key for each part; downloads decrypt the object
      ...(writes || scope.actions.includes('read') ? ['kms:Decrypt'] : []),
    ];
    if (kms.length > 0) out.push({ Sid: 'Kms', Effect: 'Allow', Action: kms, Resource: sse.keyId });
  }
  return out;
}

/** A Deny condition that holds when `key` is in the request with a value other than `value`. */
function whenPresentAndNot(key: string, value: string): Record<string, Record<string, string>> {
  return { StringNotEquals: { [key]: value }, Null: { [key]: 'false' } };
}
