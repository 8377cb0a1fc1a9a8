/**
 * What a partner's admin applies in their own account so the broker can serve them: the role's
 * trust policy, its permission policy, the bucket's CORS rules and a lifecycle rule for abandoned
 * multipart uploads. Pure: `npm run partner-policy` prints it.
 */
import type { PartnerConfig } from '../config/schema.js';
import type { Action } from '../grants/actions.js';
import { partitionOf } from '../aws/partition.js';
import { OBJECT_ACTIONS } from './sessionPolicy.js';

export interface PartnerSetup {
  roleTrustPolicy: object;
  rolePermissionPolicy: object;
  bucketCors: object;
  bucketLifecycle: object;
}

/** The role's reach: each client prefix up to its `${sub}` segment (any subject's folder). */
export function rolePrefixes(partner: PartnerConfig): string[] {
  const prefixes = Object.values(partner.clients).map((c) => c.prefix.split('${sub}')[0]!);
  // Drop prefixes already covered by a shorter one: "acme/" covers "acme/users/".
  return [...new Set(prefixes)].sort().filter((p, _i, all) => !all.some((q) => q !== p && p.startsWith(q)));
}

/** Builds the four documents for one partner; `brokerRoleArn` is the broker's Lambda execution role. */
export function partnerSetup(partnerId: string, partner: PartnerConfig, brokerRoleArn: string): PartnerSetup {
  const partition = partitionOf(partner.roleArn);
  const bucketArn = `arn:${partition}:s3:::${partner.bucket}`;
  const prefixes = rolePrefixes(partner);
  const actions = new Set<Action>(Object.values(partner.clients).flatMap((c) => c.actions));
  const objectActions = [...actions].filter((a): a is Exclude<Action, 'list'> => a !== 'list').flatMap((a) => OBJECT_ACTIONS[a]);
  const origins = [...new Set(Object.values(partner.clients).flatMap((c) => c.cors.origins))];

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
    bucketCors: {
      CORSRules: origins.length === 0 ? [] : [{
        AllowedOrigins: origins,
        AllowedMethods: ['GET', 'PUT', 'POST', 'HEAD'],
        AllowedHeaders: ['content-type', 'content-length', 'content-disposition'],
        // multipart clients read each part's ETag to complete the upload
        ExposeHeaders: ['ETag'],
        MaxAgeSeconds: 600,
      }],
    },
    bucketLifecycle: {
      Rules: [{
        ID: 'sts-broker-abort-incomplete-multipart',
        Status: 'Enabled',
        Filter: { Prefix: '' },
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
      }],
    },
  };
}
