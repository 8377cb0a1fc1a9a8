import { randomBytes } from 'node:crypto';
import type { AssumeRoleRequest, TemporaryCredentials } from '../../src/domain/model.js';
import type { CredentialIssuer } from '../../src/ports/ports.js';
import { recordSecrets } from '../../scripts/lib/logScan.js';

/** Records every AssumeRole request and mints distinct, realistic-looking credentials. */
export class RecordingIssuer implements CredentialIssuer {
  readonly requests: AssumeRoleRequest[] = [];
  readonly issued: TemporaryCredentials[] = [];
  failWith: Error | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  async assumeRole(request: AssumeRoleRequest): Promise<TemporaryCredentials> {
    this.requests.push(request);
    if (this.failWith) throw this.failWith;
    const credentials = {
      accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: `FwoGZX${randomBytes(96).toString('base64')}`,
      expiration: new Date(Math.floor(this.now() / 1000) * 1000 + request.durationSeconds * 1000),
    };
    this.issued.push(credentials);
    recordSecrets(credentials.secretAccessKey, credentials.sessionToken);
    return credentials;
  }
}
