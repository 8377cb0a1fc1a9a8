import { S3Presigner } from '../../src/adapters/aws/s3Presigner.js';
import { SessionCache } from '../../src/rules/sessionCache.js';
import type { BrokerDeps } from '../../src/usecases/deps.js';
import { YamlGrantStore } from '../../src/adapters/yamlGrantStore.js';
import { createLogger } from '../../src/observability/logger.js';
import type { BrokerConfig } from '../../src/config/schema.js';
import { RecordingIssuer } from './fakeIssuer.js';
import { RecordingMultipartStore } from './fakeMultipart.js';

/**
 * Production wiring with STS and S3's multipart calls replaced by recording fakes: the real grant
 * store, session policy, session cache, S3 presigner (local computation), logger and middleware stack.
 */
export function testDeps(config: BrokerConfig, options: { jwtSubject?: { partnerId: string; clientId: string; subject: string }; now?: () => number } = {}) {
  const clock = options.now ?? Date.now;
  const issuer = new RecordingIssuer(clock);
  const multipart = new RecordingMultipartStore();
  const store = new YamlGrantStore(config);
  const deps: BrokerDeps = {
    store,
    issuer,
    sessions: new SessionCache(issuer, { maxEntries: 100, clock }),
    jwt: {
      verify: async () => {
        if (!options.jwtSubject) throw new Error('no JWT configured in this test');
        return options.jwtSubject;
      },
    },
    presigner: new S3Presigner(),
    multipart,
    clock,
    logger: createLogger('sts-broker-test'),
    settings: { BROKER_VERSION: '9.9.9-test', BROKER_STS_ENDPOINT: undefined, BROKER_S3_ENDPOINT: undefined },
  };
  return { deps, issuer, multipart };
}
