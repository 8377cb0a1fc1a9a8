/**
 * Metrics around the STS issuer and the session cache, added by wiring so neither the adapter nor
 * the cache knows about metrics: StsLatency and StsErrors{ErrorCode} per AssumeRole, and
 * SessionCacheHits / SessionCacheMisses per signing-session lookup (docs/observability.md).
 *
 * A lookup is a miss when it started an AssumeRole (the cache calls its `onAssume`). A lookup that joins an AssumeRole
 * another request of the same container already started (the cache's single flight) counts as a
 * hit: it cost STS nothing.
 */
import { BrokerError } from '../domain/errors.js';
import { recordSessionLookup, recordStsCall } from '../observability/metrics.js';
import type { CredentialIssuer, SessionProvider } from '../ports/ports.js';

export function meteredIssuer(inner: CredentialIssuer): CredentialIssuer {
  return {
    assumeRole: async (request) => {
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
    getSession: async (cacheKey, request, minRemainingSeconds, options = {}) => {
      let assumed = false;
      const outer = options.onAssume;
      try {
        // Object.assign, not `{ ...options, onAssume }`: on Node 20 a spread followed by a new key takes a slow path.
        return await inner.getSession(cacheKey, request, minRemainingSeconds, Object.assign({}, options, {
          onAssume: () => { assumed = true; outer?.(); },
        }));
      } finally {
        recordSessionLookup(!assumed);
      }
    },
  };
}
