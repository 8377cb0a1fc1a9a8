import * as z from 'zod';
import { vendCredentials } from '../usecases/vendCredentials.js';
import type { AuthenticatedRoute } from '../http/route.js';
import { action, isoDate } from './schemas.js';

/** Error statuses every credentials route adds to the common ones (the same refusals, whatever the response format). */
export const VEND_ERRORS: Readonly<Record<string, string>> = {
  '403': 'Outside the caller\'s grant (outside_grant), including write for a client without rawWriteCredentials: true; or access revoked by an operator (access_revoked)',
  '429': 'Too many credential requests for this client (rate_limited; Retry-After says when to retry)',
};

export const credentialsInput = z.strictObject({
  actions: z.array(action).min(1).optional().describe(
    'a subset of the grant\'s actions; when absent, all of them except write unless the client has rawWriteCredentials: true '
    + '(the response lists what was vended)',
  ),
  prefix: z.string().min(1).max(1024).optional().describe('a sub-prefix of the grant\'s prefix, relative to it, ending in "/"'),
  durationSeconds: z.number().int().optional().describe('900 up to the grant\'s maxDurationSeconds (≤ 3600); the grant\'s maximum when absent'),
});

const credentialsOutput = z.object({
  credentials: z.object({ accessKeyId: z.string(), secretAccessKey: z.string(), sessionToken: z.string(), expiration: isoDate }),
  bucket: z.string(),
  region: z.string(),
  prefix: z.string(),
  actions: z.array(action).describe('the actions the credentials allow'),
  sessionName: z.string(),
});

export const credentialsRoute: AuthenticatedRoute<z.infer<typeof credentialsInput>> = {
  id: 'vendCredentials',
  method: 'POST',
  path: '/v1/credentials',
  summary: 'Vend temporary AWS credentials for the caller\'s grant',
  description:
    'Assumes the partner role with a session policy limited to the grant (or the narrower actions and sub-prefix asked for) '
    + 'and returns the temporary credentials. Each call is a new, separately audited STS session; the response is never cacheable. '
    + 'IAM cannot limit object size or Content-Type, so credentials that can write (and so escape maxUploadBytes and contentTypes) '
    + 'are vended only to a client whose config sets rawWriteCredentials: true; others upload through presigned URLs. '
    + 'A client\'s upload contract binds raw credentials only as far as IAM condition keys reach (write-once through s3:if-none-match, '
    + 'per-caller tag values, the SSE algorithm and KMS key: the caller must send those headers itself); its checksum and metadata have no '
    + 'condition key, so they are limits raw write credentials escape, like size and type. '
    + 'Each client may vend a limited number of sessions per second (429 rate_limited with Retry-After beyond it).',
  auth: 'caller',
  input: credentialsInput,
  output: credentialsOutput,
  noStore: true,
  errors: VEND_ERRORS,
  async handle(input, { deps, caller, grant, requestId }) {
    const vended = await vendCredentials(deps, { caller, grant }, input, requestId);
    const { credentials: c, scope } = vended;
    return {
      credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken, expiration: c.expiration.toISOString() },
      bucket: grant.partner.bucket,
      region: grant.partner.region,
      prefix: scope.prefix,
      actions: [...scope.actions],
      sessionName: vended.sessionName,
    };
  },
};
