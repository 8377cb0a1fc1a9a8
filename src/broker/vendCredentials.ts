import type { Action } from '../grants/actions.js';
import { resolveGrant } from '../grants/resolveGrant.js';
import { scopeForCredentials } from '../grants/scope.js';
import type { Caller, Grant, Scope, TemporaryCredentials } from '../ports.js';
import { assumeRoleRequest } from './assumeRoleRequest.js';
import { auditIssuance } from './audit.js';
import type { BrokerDeps } from './deps.js';

export interface VendRequest {
  actions?: Action[] | undefined;
  prefix?: string | undefined;
  durationSeconds?: number | undefined;
}

export interface Vended {
  credentials: TemporaryCredentials;
  grant: Grant;
  scope: Scope;
  sessionName: string;
}

/**
 * Vends fresh credentials: one AssumeRole per request (never cached: each vend is a distinct,
 * separately audited session whose lifetime the caller chose).
 */
export async function vendCredentials(deps: BrokerDeps, caller: Caller, request: VendRequest, requestId: string): Promise<Vended> {
  const grant = resolveGrant(deps.store, caller);
  const { scope, durationSeconds } = scopeForCredentials(grant, request);
  const assume = assumeRoleRequest(deps, caller, grant, scope, durationSeconds);
  const credentials = await deps.issuer.assumeRole(assume);
  auditIssuance(deps.logger, {
    requestId, caller, action: 'credentials', scope, sessionName: assume.roleSessionName, expiresAt: credentials.expiration,
  });
  return { credentials, grant, scope, sessionName: assume.roleSessionName };
}
