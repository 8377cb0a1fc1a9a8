import * as z from 'zod';
import { vendCredentials } from '../usecases/vendCredentials.js';
import type { AuthenticatedRoute } from '../http/route.js';
import { VEND_ERRORS } from './credentials.js';
import { action, isoDate } from './schemas.js';

/**
 * Query string: `?actions=read,list&prefix=sub/&durationSeconds=900`, all optional; as for POST
 * /v1/credentials, absent actions mean the grant's less write unless the client has rawWriteCredentials.
 */
export const processQuery = z.strictObject({
  actions: z.string().optional().transform((s) => (s === undefined ? undefined : s.split(','))).pipe(z.array(action).min(1).optional()),
  prefix: z.string().min(1).max(1024).optional(),
  durationSeconds: z.coerce.number().int().optional(),
});

export const credentialProcessOutput = z.object({
  Version: z.literal(1),
  AccessKeyId: z.string(),
  SecretAccessKey: z.string(),
  SessionToken: z.string(),
  Expiration: isoDate,
});

export const credentialsProcessRoute: AuthenticatedRoute<z.infer<typeof processQuery>> = {
  id: 'vendCredentialProcess',
  method: 'GET',
  path: '/v1/credentials/process',
  summary: 'Temporary credentials in the AWS SDK credential_process format',
  description:
    'The same credentials as POST /v1/credentials, shaped for the `credential_process` setting of ~/.aws/config '
    + '(`{ Version: 1, AccessKeyId, SecretAccessKey, SessionToken, Expiration }`), so the AWS CLI and every SDK can use the broker directly. '
    + 'The same rules: write only for a client with rawWriteCredentials: true, and the same per-client rate.',
  auth: 'caller',
  input: processQuery,
  output: credentialProcessOutput,
  noStore: true,
  errors: VEND_ERRORS,
  async handle(input, { deps, caller, grant, requestId }) {
    const { credentials: c } = await vendCredentials(deps, { caller, grant }, input, requestId);
    return { Version: 1, AccessKeyId: c.accessKeyId, SecretAccessKey: c.secretAccessKey, SessionToken: c.sessionToken, Expiration: c.expiration.toISOString() };
  },
};
