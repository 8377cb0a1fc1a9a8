/**
 * Cold start: read settings, load and validate the config (refusing to start on an invalid one),
 * and wire ports to adapters once per container. Handlers that presign pass an S3 presigner, and
 * the multipart handlers an S3 multipart store; the credential handlers pass neither, so their
 * bundles never carry the S3 client.
 */
import { JwtVerifier } from './auth/jwt.js';
import { SessionCache } from './aws/sessionCache.js';
import { StsCredentialIssuer } from './aws/sts.js';
import type { BrokerDeps } from './broker/deps.js';
import { loadConfigFile } from './config/load.js';
import type { BrokerConfig } from './config/schema.js';
import { readSettings } from './config/settings.js';
import { InternalError } from './errors.js';
import { ConfigGrantStore } from './grants/grantStore.js';
import { createLogger } from './http/logger.js';
import type { MultipartStore, Presigner } from './ports.js';

/** Clock skew tolerated on JWT exp/nbf. */
const JWT_CLOCK_TOLERANCE_SECONDS = 30;

/** For handlers that never presign: reaching it is a wiring bug, not a caller error. */
export const noPresigner: Presigner = {
  presignPut: () => Promise.reject(new InternalError('this handler does not presign')),
  presignGet: () => Promise.reject(new InternalError('this handler does not presign')),
  presignPost: () => Promise.reject(new InternalError('this handler does not presign')),
  presignUploadPart: () => Promise.reject(new InternalError('this handler does not presign')),
};

/** For handlers that make no multipart call: reaching it is a wiring bug, not a caller error. */
export const noMultipart: MultipartStore = {
  create: () => Promise.reject(new InternalError('this handler makes no multipart call')),
  listParts: () => Promise.reject(new InternalError('this handler makes no multipart call')),
  complete: () => Promise.reject(new InternalError('this handler makes no multipart call')),
  abort: () => Promise.reject(new InternalError('this handler makes no multipart call')),
};

/** Builds the production dependencies from the environment; throws ConfigError naming the bad field. */
export function coldStart(options: { presigner: Presigner; multipart?: MultipartStore; env?: Record<string, string | undefined> }): BrokerDeps {
  const logger = createLogger();
  try {
    const settings = readSettings(options.env);
    const config = loadConfigFile(settings.BROKER_CONFIG);
    const store = new ConfigGrantStore(config);
    const clock = Date.now;
    const issuer = new StsCredentialIssuer({ timeoutMs: settings.BROKER_STS_TIMEOUT_MS, maxAttempts: settings.BROKER_STS_MAX_ATTEMPTS });
    return {
      store,
      issuer,
      sessions: new SessionCache(issuer, { maxEntries: settings.BROKER_SESSION_CACHE_ENTRIES, clock }),
      jwt: new JwtVerifier(store, {
        jwksTimeoutMs: settings.BROKER_JWKS_TIMEOUT_MS,
        jwksMaxBytes: settings.BROKER_JWKS_MAX_BYTES,
        clockToleranceSeconds: JWT_CLOCK_TOLERANCE_SECONDS,
        allowInsecureLoopbackHttp: config.allowInsecureLoopbackHttp,
      }),
      presigner: options.presigner,
      multipart: options.multipart ?? noMultipart,
      clock,
      logger,
      settings,
      corsOrigins: allCorsOrigins(config),
    };
  } catch (err) {
    logger.error('refusing to start', { reason: err instanceof Error ? err.message : String(err) });
    throw err;
  }
}

/** Union of every client's allowed origins. */
export function allCorsOrigins(config: BrokerConfig): ReadonlySet<string> {
  return new Set(Object.values(config.partners).flatMap((p) => Object.values(p.clients).flatMap((c) => c.cors.origins)));
}
