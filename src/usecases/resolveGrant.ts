/**
 * Caller → Grant: the partner's role and bucket plus the client's limits, with `${sub}` expanded.
 * Resolved once per request (http/lambdaHandler.ts, right after authentication): the use cases and
 * the CORS headers of the answer both use this grant, so the store is asked once.
 */
import { MAX_CHAINED_SESSION_SECONDS } from '../rules/limits.js';
import { partitionOf } from '../rules/partition.js';
import { AccessRevokedError, InternalError, UnauthenticatedError } from '../domain/errors.js';
import type { Caller, Grant } from '../domain/model.js';
import type { GrantStore } from '../ports/ports.js';
import { refusalReason } from '../rules/revocation.js';
import { encodeSubject } from '../rules/subject.js';

/**
 * Resolves the caller's grant; UnauthenticatedError if its client no longer exists or changed kind,
 * AccessRevokedError (403) if its partner or client is disabled or an active revocation matches it
 * (rules/revocation.ts). Checked on every request, after authentication: the store's staleness
 * bound is the delay between an operator's revocation and its effect here.
 */
export async function resolveGrant(store: GrantStore, caller: Caller): Promise<Grant> {
  const partner = await store.partner(caller.partnerId);
  // Object.hasOwn: a client id such as "constructor" must not resolve through the prototype.
  const client = partner && Object.hasOwn(partner.clients, caller.clientId) ? partner.clients[caller.clientId] : undefined;
  if (!partner || !client) throw new UnauthenticatedError('the credential does not belong to a configured client');
  const kindMatches = caller.method === 'jwt' ? client.jwt !== undefined : client.apiKeys !== undefined;
  if (!kindMatches) throw new UnauthenticatedError('the credential does not belong to a configured client');
  // The segment is spliced into an IAM resource: re-derive it rather than trust the authenticator.
  if (caller.subjectSegment !== encodeSubject(caller.subject)) {
    throw new InternalError('caller.subjectSegment is not encodeSubject(caller.subject)');
  }
  const refused = refusalReason(partner, caller);
  if (refused !== undefined) throw new AccessRevokedError(refused);
  return {
    partnerId: caller.partnerId,
    clientId: caller.clientId,
    partner,
    client,
    partition: partitionOf(partner.roleArn),
    prefix: client.prefix.replaceAll('${sub}', caller.subjectSegment),
    maxDurationSeconds: Math.min(client.maxDurationSeconds ?? partner.maxDurationSeconds, MAX_CHAINED_SESSION_SECONDS),
  };
}
