/**
 * What a partner's admin applies in their own account so the broker can serve them: the role's
 * trust policy, its permission policy, the bucket's CORS rule (only when a client has browser
 * origins) and lifecycle rules that abort abandoned multipart uploads under the broker's prefixes.
 * Pure: `npm run partner-policy` writes these documents to files, with the commands to apply them.
 */
import type { Action } from '../domain/actions.js';
import type { Partner } from '../domain/model.js';
import { partitionOf } from './partition.js';
import { isLoopbackHost } from './loopback.js';
import { OBJECT_ACTIONS } from './sessionPolicy.js';

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
  /** Things the admin should know (an origin left out, a rule that covers the whole bucket). */
  notes: string[];
}

/** The role's reach: each client prefix up to its `${sub}` segment (any subject's folder). */
export function rolePrefixes(partner: Partner): string[] {
  const prefixes = Object.values(partner.clients).map((c) => c.prefix.split('${sub}')[0]!);
  // Drop prefixes already covered by a shorter one: "acme/" covers "acme/users/".
  return [...new Set(prefixes)].sort().filter((p, _i, all) => !all.some((q) => q !== p && p.startsWith(q)));
}

/**
 * Why `origin` may not appear in a bucket CORS rule, or undefined when it may. The rule of the
 * config's CORS origins: an exact browser origin (scheme, host, optional port; no path, no
 * trailing slash, no `*`, not `null`), https, or http on a loopback host only when the config's
 * `allowInsecureLoopbackHttp` is true. "Exact" means as a browser sends it in `Origin` (lowercase
 * host, no default port): S3 compares strings, so any other spelling would never match anyway.
 */
export function corsOriginProblem(origin: string, allowInsecureLoopbackHttp: boolean): string | undefined {
  if (origin.includes('*')) return 'must not contain "*"';
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return 'must be an origin like https://app.example.com';
  }
  if (url.origin === 'null' || url.origin !== origin) return `must be exactly an origin like https://app.example.com (scheme, host, optional port; no path)`;
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname) && allowInsecureLoopbackHttp) return undefined;
  return 'must be https (http only for a loopback host with allowInsecureLoopbackHttp: true)';
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

  const trustCondition = partner.externalId === undefined ? {} : { Condition: { StringEquals: { 'sts:ExternalId': partner.externalId } } };
  const statements: object[] = [];
  if (objectActions.length > 0) {
    statements.push({ Sid: 'BrokerObjects', Effect: 'Allow', Action: objectActions, Resource: prefixes.map((p) => `${bucketArn}/${p}*`) });
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
        AllowedHeaders: ['content-type', 'content-length', 'content-disposition'],
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
    notes,
  };
}
