import * as z from 'zod';
import type { AuthenticatedRoute } from '../http/route.js';
import { action } from './schemas.js';

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
  }),
});

export const whoamiRoute: AuthenticatedRoute<Record<string, never>> = {
  id: 'whoami',
  method: 'GET',
  path: '/v1/whoami',
  summary: 'The caller\'s partner, client, subject and grant',
  description: 'For partners debugging their setup: who the broker thinks you are and what you may do. Never contains a secret; '
    + 'never cacheable (it describes one caller\'s grant). `rawWriteCredentials` says whether raw credentials may include write.',
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
      },
    };
  },
};
