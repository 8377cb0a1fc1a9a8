/**
 * Cold start without any AWS SDK client: read settings, load and validate the config (refusing to
 * start on an invalid one), and wire ports to the adapters a handler passes in. `./withAws.ts`
 * adds the STS issuer; handlers that never call AWS (health, openapi, preflight, whoami) wire from
 * here, so their bundles carry no SDK at all (scripts/bench/coldStart.ts, section 4 of the benchmark measures the difference).
 */
import { YamlGrantStore } from '../adapters/yamlGrantStore.js';
import { loadConfigFileWithNotices } from '../config/load.js';
import { assertEndpointOverrides, readSettings, type Settings } from '../config/settings.js';
import { InternalError } from '../domain/errors.js';
import { createLogger, type Logger } from '../observability/logger.js';
import type { CredentialIssuer, MultipartStore, Presigner } from '../ports/ports.js';
import { SessionCache } from '../rules/sessionCache.js';
import type { BrokerDeps } from '../usecases/deps.js';
import { remoteJwtVerifier } from './jwtVerifier.js';

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

/** For handlers that never call STS: reaching it is a wiring bug, not a caller error. */
export const noIssuer: CredentialIssuer = {
  assumeRole: () => Promise.reject(new InternalError('this handler does not call STS')),
};

export interface WireOptions {
  presigner: Presigner;
  multipart?: MultipartStore;
  /** Builds the STS issuer from the validated settings (see ./withAws.ts). */
  issuer: (settings: Settings, logger: Logger) => CredentialIssuer;
  env?: Record<string, string | undefined>;
}

/** Builds the dependencies from the environment; throws ConfigError naming the bad field. */
export function wire(options: WireOptions): BrokerDeps {
  const logger = createLogger();
  try {
    const settings = readSettings(options.env);
    const { config, notices } = loadConfigFileWithNotices(settings.BROKER_CONFIG);
    // BROKER_STS_ENDPOINT / BROKER_S3_ENDPOINT: loopback http only when the config allows it
    assertEndpointOverrides(settings, config.allowInsecureLoopbackHttp, settings.BROKER_CONFIG);
    for (const notice of notices) logger.info('config notice', { path: notice.path, notice: notice.message });
    // Built synchronously from the validated config, so an invalid config still fails at import.
    const store = new YamlGrantStore(config);
    const clock = Date.now;
    const issuer = options.issuer(settings, logger);
    return {
      store,
      issuer,
      sessions: new SessionCache(issuer, { maxEntries: settings.BROKER_SESSION_CACHE_ENTRIES, clock }),
      jwt: remoteJwtVerifier(store, {
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
    };
  } catch (err) {
    logger.error('refusing to start', { reason: err instanceof Error ? err.message : String(err) });
    throw err;
  }
}

/** Cold start for handlers that call no AWS API: no STS, no S3, no SDK in their bundle. */
export function coldStartWithoutAws(options: { env?: Record<string, string | undefined> } = {}): BrokerDeps {
  return wire({ ...options, presigner: noPresigner, issuer: () => noIssuer });
}
