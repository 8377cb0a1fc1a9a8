import * as z from 'zod';
import { vendCredentials } from '../usecases/vendCredentials.js';
import type { AuthenticatedRoute } from '../http/route.js';
import { VEND_ERRORS } from './credentials.js';
import { isoDate } from './schemas.js';
import { processQuery } from './credentialsProcess.js';

const containerOutput = z.object({ AccessKeyId: z.string(), SecretAccessKey: z.string(), Token: z.string(), Expiration: isoDate });

export const credentialsContainerRoute: AuthenticatedRoute<z.infer<typeof processQuery>> = {
  id: 'vendContainerCredentials',
  method: 'GET',
  path: '/v1/credentials/container',
  summary: 'Temporary credentials in the container-credentials format',
  description:
    'For `AWS_CONTAINER_CREDENTIALS_FULL_URI`. The SDKs send `AWS_CONTAINER_AUTHORIZATION_TOKEN` verbatim as the Authorization header, '
    + 'so this route accepts the bare API key there as well as `Bearer <key>` or `X-Api-Key`. The JS, Go and Java SDKs accept an https URL; '
    + 'the AWS CLI (botocore) accepts an https URL only since late 2025 (older releases: loopback hosts only), so users of an older CLI take '
    + 'credential_process or the credential helper\'s serve mode instead. The same rules as POST /v1/credentials: '
    + 'write only for a client with rawWriteCredentials: true, and the same per-client rate.',
  auth: 'container',
  input: processQuery,
  output: containerOutput,
  noStore: true,
  errors: VEND_ERRORS,
  async handle(input, { deps, caller, grant, requestId }) {
    const { credentials: c } = await vendCredentials(deps, { caller, grant }, input, requestId);
    return { AccessKeyId: c.accessKeyId, SecretAccessKey: c.secretAccessKey, Token: c.sessionToken, Expiration: c.expiration.toISOString() };
  },
};
