/**
 * Cold start for handlers that call AWS: the SDK-free wiring of ./coldStart.ts plus the STS
 * issuer. Handlers that presign pass an S3 presigner, and the multipart handlers an S3 multipart
 * store; the credential handlers pass neither, so their bundles never carry the S3 client. Handlers
 * that call no AWS API use `coldStartWithoutAws` from ./coldStart.ts, so theirs carry no SDK.
 */
import { StsCredentialIssuer } from '../adapters/aws/sts.js';
import type { BrokerDeps } from '../usecases/deps.js';
import type { MultipartStore, Presigner } from '../ports/ports.js';
import { wire } from './coldStart.js';

export { noIssuer, noMultipart, noPresigner } from './coldStart.js';

/** Builds the production dependencies from the environment; throws ConfigError naming the bad field. */
export function coldStart(options: { presigner: Presigner; multipart?: MultipartStore; env?: Record<string, string | undefined> }): BrokerDeps {
  return wire({
    ...options,
    // the issuer logs each STS failure's code, status and STS request id (never credentials)
    issuer: (settings, logger) => new StsCredentialIssuer({ timeoutMs: settings.BROKER_STS_TIMEOUT_MS, maxAttempts: settings.BROKER_STS_MAX_ATTEMPTS, logger }),
  });
}
