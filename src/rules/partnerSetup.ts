/**
 * What a partner's admin applies in their own account so the broker can serve them: the role's
 * trust policy, its permission policy, the bucket's CORS rule (only when a client has browser
 * origins) and lifecycle rules that abort abandoned multipart uploads under the broker's prefixes.
 * Pure: `npm run partner-policy` writes these documents to files, with the commands to apply them.
 */
import type { Action } from '../domain/actions.js';
import type { Partner } from '../domain/model.js';
import { partitionOf } from './partition.js';
import { corsOriginProblem } from './corsOrigin.js';
import { OBJECT_ACTIONS } from './sessionPolicy.js';
import { CHECKSUM_HEADER, renderTemplate, TEMPLATE_VARIABLES } from './uploadContract.js';

/** The `ID` of the broker's bucket CORS rule, so a merge can replace it and keep the partner's own. */
export const CORS_RULE_ID = 'sts-broker';
/** Every lifecycle rule ID the broker emits starts with this, for the same reason. */
export const LIFECYCLE_RULE_ID_PREFIX = 'sts-broker-abort-incomplete-multipart';

export interface PartnerSetup {
  roleTrustPolicy: object;
  rolePermissionPolicy: object;
  /** Undefined when no client has a browser origin: then the bucket needs no CORS rule at all. */
  bucketCors: { CORSRules: object[] } | undefined;
  bucketLifecycle: { Rules: object[] };
  /**
   * Statements to MERGE into the bucket policy (by Sid) so the upload contracts bind every writer
   * under the broker's prefixes, not only the broker's sessions; undefined when no client has one.
   */
  bucketPolicy: { Version: string; Statement: object[] } | undefined;
  /** Statements for the KMS key policy of each SSE-KMS key a contract names (key ARN → statements). */
  kmsKeyPolicies: Record<string, object[]>;
  /** Things the admin should know (an origin left out, a rule that covers the whole bucket). */
  notes: string[];
}

/** The role's reach: each client prefix up to its `${sub}` segment (any subject's folder). */
export function rolePrefixes(partner: Partner): string[] {
  const prefixes = Object.values(partner.clients).map((c) => c.prefix.split('${sub}')[0]!);
  // Drop prefixes already covered by a shorter one: "acme/" covers "acme/users/".
  return [...new Set(prefixes)].sort().filter((p, _i, all) => !all.some((q) => q !== p && p.startsWith(q)));
}

export interface PartnerSetupOptions {
  /** The config's `allowInsecureLoopbackHttp`: whether loopback http origins may be emitted. */
  allowInsecureLoopbackHttp?: boolean;
}

/** Builds the documents for one partner; `brokerRoleArn` is the broker's Lambda execution role. */
export function partnerSetup(partnerId: string, partner: Partner, brokerRoleArn: string, options: PartnerSetupOptions = {}): PartnerSetup {
  const partition = partitionOf(partner.roleArn);
  const bucketArn = `arn:${partition}:s3:::${partner.bucket}`;
  const prefixes = rolePrefixes(partner);
  const actions = new Set<Action>(Object.values(partner.clients).flatMap((c) => c.actions));
  const objectActions = [...actions].filter((a): a is Exclude<Action, 'list'> => a !== 'list').flatMap((a) => OBJECT_ACTIONS[a]);
  const notes: string[] = [];

  const origins: string[] = [];
  for (const [clientId, client] of Object.entries(partner.clients)) {
    for (const origin of client.cors.origins) {
      const problem = corsOriginProblem(origin, options.allowInsecureLoopbackHttp === true);
      if (problem !== undefined) {
        notes.push(`left out of the bucket CORS rule: partners.${partnerId}.clients.${clientId}.cors.origins ${JSON.stringify(origin)} ${problem}`);
      } else if (!origins.includes(origin)) {
        origins.push(origin);
      }
    }
  }
  if (prefixes.includes('')) {
    notes.push('a client prefix starts with ${sub}: the role and the lifecycle rule cover the whole bucket');
  }

  const contracts = Object.entries(partner.clients).filter(([, c]) => c.upload !== undefined);
  const tagged = contracts.some(([, c]) => Object.keys(c.upload!.tags).length > 0);
  if (tagged && actions.has('write')) objectActions.push('s3:PutObjectTagging');
  const kmsKeys = [...new Set(contracts.flatMap(([, c]) => (c.upload!.encryption?.type === 'aws:kms' ? [c.upload!.encryption.keyId] : [])))];
  const bucketPolicy = contracts.length === 0 ? undefined : {
    Version: '2012-10-17',
    Statement: contracts.flatMap(([clientId, c]) => contractBucketStatements(partnerId, clientId, `${bucketArn}/${c.prefix.split('${sub}')[0]!}*`, c)),
  };
  const kmsKeyPolicies = Object.fromEntries(kmsKeys.map((keyArn) => [keyArn, [{
    Sid: `StsBroker${partnerId.replace(/[^A-Za-z0-9]/g, '')}S3Uploads`,
    Effect: 'Allow',
    Principal: { AWS: partner.roleArn },
    // uploads: GenerateDataKey (multipart parts also Decrypt); downloads: Decrypt
    Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
    Resource: '*',
    Condition: { StringEquals: { 'kms:ViaService': `s3.${partner.region}.amazonaws.com` } },
  }]]));
  for (const [clientId, c] of contracts) {
    const mine = c.prefix.split('${sub}')[0]!;
    for (const [otherId, o] of Object.entries(partner.clients)) {
      const theirs = o.prefix.split('${sub}')[0]!;
      if (otherId !== clientId && (theirs.startsWith(mine) || mine.startsWith(theirs)) && JSON.stringify(o.upload) !== JSON.stringify(c.upload)) {
        notes.push(`the bucket policy's contract statements for client ${clientId} (prefix ${JSON.stringify(mine)}) also bind client ${otherId} `
          + `(prefix ${JSON.stringify(theirs)}), whose upload contract differs: give them separate prefixes or the same contract`);
      }
    }
  }
  if (kmsKeys.length > 0) {
    notes.push('SSE-KMS contracts: set the bucket\'s default encryption to the same key (aws s3api put-bucket-encryption), so a write that '
      + 'sends no SSE header at all is still encrypted with it; IAM can deny a wrong SSE header but not a missing one without breaking multipart uploads');
  }
  const trustCondition = partner.externalId === undefined ? {} : { Condition: { StringEquals: { 'sts:ExternalId': partner.externalId } } };
  const statements: object[] = [];
  if (objectActions.length > 0) {
    statements.push({ Sid: 'BrokerObjects', Effect: 'Allow', Action: objectActions, Resource: prefixes.map((p) => `${bucketArn}/${p}*`) });
  }
  if (kmsKeys.length > 0) {
    statements.push({ Sid: 'BrokerKms', Effect: 'Allow', Action: ['kms:GenerateDataKey', 'kms:Decrypt'], Resource: kmsKeys });
  }
  if (actions.has('list')) {
    statements.push({
      Sid: 'BrokerList', Effect: 'Allow', Action: ['s3:ListBucket'], Resource: bucketArn,
      Condition: { StringLike: { 's3:prefix': prefixes.flatMap((p) => [p, `${p}*`]) } },
    });
  }
  return {
    roleTrustPolicy: {
      Version: '2012-10-17',
      Statement: [
        { Sid: 'BrokerAssumesRole', Effect: 'Allow', Principal: { AWS: brokerRoleArn }, Action: 'sts:AssumeRole', ...trustCondition },
        {
          // The broker tags every session (partner, client, subject) and sets SourceIdentity to the caller.
          Sid: 'BrokerTagsAndIdentifiesSessions', Effect: 'Allow', Principal: { AWS: brokerRoleArn },
          Action: ['sts:TagSession', 'sts:SetSourceIdentity'],
          Condition: { StringEquals: { 'aws:RequestTag/partner': partnerId } },
        },
      ],
    },
    rolePermissionPolicy: { Version: '2012-10-17', Statement: statements },
    bucketCors: origins.length === 0 ? undefined : {
      CORSRules: [{
        ID: CORS_RULE_ID,
        AllowedOrigins: origins,
        AllowedMethods: ['GET', 'PUT', 'POST', 'HEAD'],
        AllowedHeaders: ['content-type', 'content-length', 'content-disposition', ...contractCorsHeaders(partner)],
        // multipart clients read each part's ETag to complete the upload
        ExposeHeaders: ['ETag'],
        MaxAgeSeconds: 600,
      }],
    },
    // Only under the broker's prefixes: the partner's other uploads elsewhere in the bucket are theirs.
    bucketLifecycle: {
      Rules: prefixes.map((p, i) => ({
        ID: prefixes.length === 1 ? LIFECYCLE_RULE_ID_PREFIX : `${LIFECYCLE_RULE_ID_PREFIX}-${i + 1}`,
        Status: 'Enabled',
        Filter: { Prefix: p },
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
      })),
    },
    bucketPolicy,
    kmsKeyPolicies,
    notes,
  };
}

/** Every header an upload contract of this partner signs: a browser's preflight must be allowed to send each. */
export function contractCorsHeaders(partner: Partner): string[] {
  const headers = new Set<string>();
  for (const c of Object.values(partner.clients)) {
    const u = c.upload;
    if (u === undefined || c.cors.origins.length === 0) continue;
    if (u.integrity !== 'none') headers.add(CHECKSUM_HEADER[u.integrity]);
    if (!u.overwrite) headers.add('if-none-match');
    if (Object.keys(u.tags).length > 0) headers.add('x-amz-tagging');
    if (Object.keys(u.metadata).length > 0) headers.add('x-amz-meta-*');
    if (u.encryption !== undefined) headers.add('x-amz-server-side-encryption');
    if (u.encryption?.type === 'aws:kms') headers.add('x-amz-server-side-encryption-aws-kms-key-id');
  }
  return [...headers].sort();
}

/**
 * One client's contract as bucket-policy Deny statements on its prefix, for every principal (the
 * broker's sessions, vended credentials, the partner's own writers): write-once (CreateMultipartUpload
 * and UploadPart exempt through s3:ObjectCreationOperation), no tag keys outside the contract, each
 * tag whose value is the same for every caller (no ${sub} or ${requestId}), and the SSE algorithm and key.
 */
function contractBucketStatements(partnerId: string, clientId: string, resource: string, client: Partner['clients'][string]): object[] {
  const u = client.upload!;
  const sid = (s: string) => `StsBroker${`${partnerId}${clientId}`.replace(/[^A-Za-z0-9]/g, '')}${s}`;
  const deny = (s: string, action: string | string[], condition: object) => ({ Sid: sid(s), Effect: 'Deny', Principal: '*', Action: action, Resource: resource, Condition: condition });
  const out: object[] = [];
  if (!u.overwrite) out.push(deny('WriteOnce', 's3:PutObject', { Null: { 's3:if-none-match': 'true' }, Bool: { 's3:ObjectCreationOperation': 'true' } }));
  const tagKeys = Object.keys(u.tags);
  if (tagKeys.length > 0) {
    out.push(deny('TagKeys', ['s3:PutObject', 's3:PutObjectTagging'], { 'ForAnyValue:StringNotEquals': { 's3:RequestObjectTagKeys': tagKeys } }));
    const caller = { subjectSegment: '${sub}', clientId, partnerId };
    Object.entries(u.tags).forEach(([key, template], i) => {
      const value = renderTemplate(template, caller);
      if (TEMPLATE_VARIABLES.some((v) => value.includes(v))) return; // varies per caller or request: the broker's session policy and signature pin it
      out.push(deny(`Tag${i}`, ['s3:PutObject', 's3:PutObjectTagging'], { StringNotEquals: { [`s3:RequestObjectTag/${key}`]: value }, Null: { [`s3:RequestObjectTag/${key}`]: 'false' } }));
    });
  }
  if (u.encryption !== undefined) {
    out.push(deny('Sse', 's3:PutObject', { StringNotEquals: { 's3:x-amz-server-side-encryption': u.encryption.type }, Null: { 's3:x-amz-server-side-encryption': 'false' } }));
    if (u.encryption.type === 'aws:kms') {
      const k = 's3:x-amz-server-side-encryption-aws-kms-key-id';
      out.push(deny('SseKey', 's3:PutObject', { StringNotEquals: { [k]: u.encryption.keyId }, Null: { [k]: 'false' } }));
    }
  }
  return out;
}
