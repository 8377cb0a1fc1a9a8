import type { BrokerDeps } from './deps.js';
import { buildSessionPolicy } from '../rules/sessionPolicy.js';
import { sessionIdentity } from '../rules/sessionIdentity.js';
import { sessionContract } from '../rules/uploadContract.js';
import type { AssumeRoleRequest, Caller, Grant, S3Target, Scope } from '../domain/model.js';

/**
 * The full AssumeRole input for a scope: session policy, identity, tags, external id, endpoint. The
 * session policy carries the client's upload contract as far as IAM can state it (per-caller values
 * only: rules/uploadContract.ts sessionContract), for cached signing sessions and vends alike.
 */
export function assumeRoleRequest(
  deps: Pick<BrokerDeps, 'settings'>,
  caller: Caller,
  grant: Grant,
  scope: Scope,
  durationSeconds: number,
): AssumeRoleRequest {
  const identity = sessionIdentity(caller);
  const stsEndpoint = deps.settings.BROKER_STS_ENDPOINT ?? grant.partner.stsEndpoint;
  return {
    partnerId: grant.partnerId,
    roleArn: grant.partner.roleArn,
    roleSessionName: identity.roleSessionName,
    sourceIdentity: identity.sourceIdentity,
    ...(grant.partner.externalId === undefined ? {} : { externalId: grant.partner.externalId }),
    policy: buildSessionPolicy(scope, sessionContract(grant.client.upload, caller)),
    durationSeconds,
    tags: identity.tags,
    region: grant.partner.region,
    ...(stsEndpoint === undefined ? {} : { stsEndpoint }),
  };
}

/** Where the partner's objects live; a custom endpoint implies path-style addressing. */
export function s3Target(deps: Pick<BrokerDeps, 'settings'>, grant: Grant): S3Target {
  const endpoint = deps.settings.BROKER_S3_ENDPOINT ?? grant.partner.s3Endpoint;
  return {
    bucket: grant.partner.bucket,
    region: grant.partner.region,
    ...(endpoint === undefined ? {} : { endpoint }),
    forcePathStyle: endpoint !== undefined,
  };
}
