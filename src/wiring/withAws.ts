/**
 * Cold start for handlers that call AWS: the SDK-free wiring of ./coldStart.ts plus the STS
 * issuer. Handlers that presign pass an S3 presigner, and the multipart handlers an S3 multipart
 * store; the credential handlers pass neither, so their bundles never carry the S3 client. Handlers
 * that call no AWS API use `coldStartWithoutAws` from ./coldStart.ts, so theirs carry no SDK.
 *
 * The issuer and the session cache are wrapped for metrics (./instrumented.ts). Tracing is a
 * package-time choice: the bundler replaces `process.env.STS_BROKER_TRACING` with a literal
 * (esbuild `define`), so in a default bundle (`"false"`) the condition below is constant, the
 * import is dropped, and neither the Tracer nor the X-Ray SDK is in the bundle (a runtime flag
 * would ship them in every bundle). Unbundled (tests, tsx) it is read from the environment.
 */
import { defaultClient, StsCredentialIssuer } from '../adapters/aws/sts.js';
import type { BrokerDeps } from '../usecases/deps.js';
import type { MultipartStore, Presigner } from '../ports/ports.js';
import { wire } from './coldStart.js';
import { grantTable } from './grantTableChoice.js';
import { meteredIssuer, meteredSessions } from './instrumented.js';

export { noIssuer, noMultipart, noPresigner } from './coldStart.js';

const tracing = process.env.STS_BROKER_TRACING === 'true' ? await import('./tracing.js') : undefined;

/** Builds the production dependencies from the environment; throws ConfigError naming the bad field. */
export function coldStart(options: { presigner: Presigner; multipart?: MultipartStore; env?: Record<string, string | undefined> }): BrokerDeps {
  const deps = wire({
    ...options,
    // BROKER_GRANT_STORE=dynamodb: every authenticated route reads the grant table (undefined in yaml bundles)
    ...(grantTable === undefined ? {} : { grantTable }),
    // the issuer logs each STS failure's code, status and STS request id (never credentials)
    issuer: (settings, logger) => {
      const stsOptions = { timeoutMs: settings.BROKER_STS_TIMEOUT_MS, maxAttempts: settings.BROKER_STS_MAX_ATTEMPTS, logger };
      return meteredIssuer(new StsCredentialIssuer(tracing === undefined ? stsOptions : {
        ...stsOptions,
        clientFor: (region: string, endpoint?: string) => tracing.traceClient(defaultClient(region, endpoint, stsOptions)),
      }));
    },
  });
  return { ...deps, sessions: meteredSessions(deps.sessions) };
}
