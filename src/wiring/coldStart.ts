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
import type { BrokerConfig } from '../config/schema.js';
import type { CredentialIssuer, GrantStore, MultipartStore, Presigner } from '../ports/ports.js';
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
  presignUploadParts: () => Promise.reject(new InternalError('this handler does not presign')),
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

/** Builds the DynamoDB grant store from the validated settings (./withGrantTable.ts `dynamoGrantTable`). */
export type GrantTableFactory = (settings: Settings, logger: Logger, clock: () => number) => GrantStore;

/** /health of a function that never reads the grant table (see `tableNotRead`). */
export const TABLE_NOT_READ_VERSION = 'dynamodb:not-read-by-this-function';

/**
 * The store of a function built without the table reader when BROKER_GRANT_STORE=dynamodb (health
 * and openapi: their bundles carry no SDK). It answers /health honestly and refuses any lookup: a
 * handler reaching one was wired without `dynamoGrantTable`, a wiring bug, never a caller error.
 */
export function tableNotRead(): GrantStore {
  const refuse = () => Promise.reject(new InternalError('this function was built without the grant table reader (src/wiring/withGrantTable.ts)'));
  return { findApiKey: refuse, findJwtClients: refuse, partner: refuse, isOriginAllowed: refuse, version: async () => TABLE_NOT_READ_VERSION };
}

export interface WireOptions {
  presigner: Presigner;
  multipart?: MultipartStore;
  /** Builds the STS issuer from the validated settings (see ./withAws.ts). */
  issuer: (settings: Settings, logger: Logger) => CredentialIssuer;
  /**
   * The grant table reader, for functions that authenticate callers or answer preflights; used only
   * when BROKER_GRANT_STORE=dynamodb. Omitted by functions that never read grants (health, openapi).
   */
  grantTable?: GrantTableFactory;
  env?: Record<string, string | undefined>;
}

/** The store BROKER_GRANT_STORE names: the YAML config's partners, or the grant table. */
export function chooseStore(settings: Settings, config: BrokerConfig, logger: Logger, clock: () => number, grantTable?: GrantTableFactory): GrantStore {
  if (settings.BROKER_GRANT_STORE === 'yaml') return new YamlGrantStore(config);
  return grantTable === undefined ? tableNotRead() : grantTable(settings, logger, clock);
}

/** Builds the dependencies from the environment; throws ConfigError naming the bad field. */
export function wire(options: WireOptions): BrokerDeps {
  const logger = createLogger();
  try {
    const settings = readSettings(options.env);
    // With the dynamodb store the file holds the deployment settings only (no partners).
    const { config, notices } = loadConfigFileWithNotices(settings.BROKER_CONFIG, { grantStore: settings.BROKER_GRANT_STORE });
    // BROKER_STS_ENDPOINT / BROKER_S3_ENDPOINT / BROKER_DYNAMODB_ENDPOINT: loopback http only when the config allows it
    assertEndpointOverrides(settings, config.allowInsecureLoopbackHttp, settings.BROKER_CONFIG);
    for (const notice of notices) logger.info('config notice', { path: notice.path, notice: notice.message });
    const clock = Date.now;
    // Built synchronously: an invalid config or setting still fails at import. The table is never
    // read here (Lambda freezes containers; the first request confirms the version).
    const store = chooseStore(settings, config, logger, clock, options.grantTable);
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

/**
 * Cold start for handlers that call no AWS API: no STS, no S3, no SDK in their bundle. Those that
 * read grants (whoami, preflight) pass `grantTable` from ./grantTableChoice.ts, which only a
 * dynamodb-store bundle fills (and then carries the DynamoDB client).
 */
export function coldStartWithoutAws(options: { env?: Record<string, string | undefined>; grantTable?: GrantTableFactory | undefined } = {}): BrokerDeps {
  const { grantTable, ...rest } = options;
  return wire({ ...rest, presigner: noPresigner, issuer: () => noIssuer, ...(grantTable === undefined ? {} : { grantTable }) });
}
