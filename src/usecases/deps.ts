import type { Logger } from '../observability/logger.js';
import type { JwtVerifier } from '../auth/jwt.js';
import type { Clock, CredentialIssuer, GrantStore, MultipartStore, Presigner, SessionProvider } from '../ports/ports.js';
import type { Settings } from '../config/settings.js';

/** Everything a route needs, wired once per container (see ../wiring.ts) or by a test. */
export interface BrokerDeps {
  store: GrantStore;
  jwt: Pick<JwtVerifier, 'verify'>;
  issuer: CredentialIssuer;
  sessions: SessionProvider;
  presigner: Presigner;
  /** S3 multipart calls (create, list, complete, abort): only the multipart handlers wire a real one. */
  multipart: MultipartStore;
  /** Union of every client's CORS origins: used before the caller is known (preflight, 401). */
  corsOrigins: ReadonlySet<string>;
  clock: Clock;
  logger: Logger;
  settings: Pick<Settings, 'BROKER_STS_ENDPOINT' | 'BROKER_S3_ENDPOINT' | 'BROKER_VERSION'>;
}
