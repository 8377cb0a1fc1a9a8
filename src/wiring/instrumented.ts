/**
 * Metrics around the STS issuer and the session cache, added by wiring so neither the adapter nor
 * the cache knows about metrics: StsLatency and StsErrors{ErrorCode} per AssumeRole, and
 * SessionCacheHits / SessionCacheMisses per signing-session lookup (docs/observability.md).
 *
 * A lookup is a miss when an AssumeRole started inside it. A lookup that joins an AssumeRole
 * another request of the same container already started (the cache's single flight) counts as a
 * hit: it cost STS nothing.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { BrokerError } from '../domain/errors.js';
import { recordSessionLookup, recordStsCall } from '../observability/metrics.js';
import type { CredentialIssuer, SessionProvider } from '../ports/ports.js';

/** Set by the issuer when an AssumeRole starts inside the session lookup that is running. */
const lookup = new AsyncLocalStorage<{ assumed: boolean }>();

export function meteredIssuer(inner: CredentialIssuer): CredentialIssuer {
  return {
    assumeRole: async (request) => {
      const current = lookup.getStore();
      if (current !== undefined) current.assumed = true;
      const started = performance.now();
      try {
        const credentials = await inner.assumeRole(request);
        recordStsCall(performance.now() - started);
        return credentials;
      } catch (err) {
        recordStsCall(performance.now() - started, err instanceof BrokerError ? err.code : 'internal');
        throw err;
      }
    },
  };
}

export function meteredSessions(inner: SessionProvider): SessionProvider {
  return {
    getSession: (cacheKey, request, minRemainingSeconds, options) => {
      const state = { assumed: false };
      return lookup.run(state, async () => {
        try {
          return await inner.getSession(cacheKey, request, minRemainingSeconds, options);
        } finally {
          recordSessionLookup(!state.assumed);
        }
      });
    },
  };
}
