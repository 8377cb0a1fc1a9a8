import * as z from 'zod';
import type { AuthenticatedRoute } from '../http/route.js';
import type { Caller, UploadContract } from '../domain/model.js';
import { renderTemplate } from '../rules/uploadContract.js';
import { action } from './schemas.js';

/** The contract as this caller's uploads get it: per-caller variables filled in, ${requestId} left as the marker it is. */
function contractView(contract: UploadContract, caller: Caller) {
  const render = (r: Record<string, string>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, renderTemplate(v, caller)]));
  return {
    integrity: contract.integrity,
    overwrite: contract.overwrite,
    tags: render(contract.tags),
    metadata: render(contract.metadata),
    ...(contract.encryption === undefined ? {} : { encryption: { ...contract.encryption } }),
  };
}

const whoamiOutput = z.object({
  partner: z.string(),
  client: z.string(),
  method: z.enum(['api-key', 'jwt']),
  subject: z.string(),
  subjectSegment: z.string(),
  grant: z.object({
    bucket: z.string(),
    region: z.string(),
    prefix: z.string(),
    actions: z.array(action),
    maxUploadBytes: z.number(),
    contentTypes: z.array(z.string()),
    maxDurationSeconds: z.number(),
    rawWriteCredentials: z.boolean().describe('whether POST /v1/credentials (and its twins) may vend write; false unless the config opts in'),
    upload: z.object({
      integrity: z.enum(['md5', 'sha256', 'crc32c', 'none']).describe('the checksum every upload must declare (none: no checksum)'),
      overwrite: z.boolean().describe('false: uploads are write-once (If-None-Match: *), POST forms refused'),
      tags: z.record(z.string(), z.string()).describe('tags every object gets, templates filled in for this caller (${requestId} stays: it is filled per request)'),
      metadata: z.record(z.string(), z.string()).describe('x-amz-meta-* every object gets, filled in the same way'),
      encryption: z.object({ type: z.enum(['aws:kms', 'AES256']), keyId: z.string().optional() }).optional(),
    }).optional().describe('the client\'s upload contract, absent when it has none (uploads then bind key, type and size only)'),
  }),
});

export const whoamiRoute: AuthenticatedRoute<Record<string, never>> = {
  id: 'whoami',
  method: 'GET',
  path: '/v1/whoami',
  summary: 'The caller\'s partner, client, subject and grant',
  description: 'For partners debugging their setup: who the broker thinks you are and what you may do. Never contains a secret; '
    + 'never cacheable (it describes one caller\'s grant). `rawWriteCredentials` says whether raw credentials may include write; '
    + '`upload` is the upload contract S3 holds this client\'s uploads to, when it has one.',
  auth: 'caller',
  input: z.strictObject({}),
  output: whoamiOutput,
  noStore: true,
  async handle(_input, { caller, grant }) {
    return {
      partner: caller.partnerId,
      client: caller.clientId,
      method: caller.method,
      subject: caller.subject,
      subjectSegment: caller.subjectSegment,
      grant: {
        bucket: grant.partner.bucket,
        region: grant.partner.region,
        prefix: grant.prefix,
        actions: [...grant.client.actions],
        maxUploadBytes: grant.client.maxUploadBytes,
        contentTypes: [...grant.client.contentTypes],
        maxDurationSeconds: grant.maxDurationSeconds,
        rawWriteCredentials: grant.client.rawWriteCredentials === true,
        ...(grant.client.upload === undefined ? {} : { upload: contractView(grant.client.upload, caller) }),
      },
    };
  },
};
