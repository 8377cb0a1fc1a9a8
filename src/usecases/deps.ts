import type { Settings } from '../config/settings.js';
import type { Logger } from '../observability/logger.js';
import type { Clock, CredentialIssuer, GrantStore, MultipartStore, Presigner, SessionProvider, TokenVerifier } from '../ports/ports.js';

/** Everything a use case (and the HTTP layer around it) needs, wired once per container (src/wiring/) or by a test. */
export interface BrokerDeps {
  store: GrantStore;
  jwt: TokenVerifier;
  issuer: CredentialIssuer;
  sessions: SessionProvider;
  presigner: Presigner;
  /** S3 multipart calls (create, list, complete, abort): only the multipart handlers wire a real one. */
  multipart: MultipartStore;
  clock: Clock;
  logger: Logger;
  settings: Pick<Settings, 'BROKER_STS_ENDPOINT' | 'BROKER_S3_ENDPOINT' | 'BROKER_VERSION'>;
}
