import * as z from 'zod';
import { presignDownload } from '../usecases/presignDownload.js';
import type { AuthenticatedRoute } from '../http/route.js';
import { expiresIn, isoDate, relativeKey } from './schemas.js';

export const downloadInput = z.strictObject({
  key: relativeKey,
  expiresIn,
  filename: z.string().min(1).max(255).optional().describe('name offered to the browser; sanitised. Defaults to the key\'s last segment'),
});

const downloadOutput = z.object({ url: z.string(), key: z.string(), expiresAt: isoDate });

export const downloadsRoute: AuthenticatedRoute<z.infer<typeof downloadInput>> = {
  id: 'presignDownload',
  method: 'POST',
  path: '/v1/downloads',
  summary: 'Presigned GET for one object key',
  description:
    'A URL that downloads one object as an attachment. The Content-Disposition is built from a sanitised filename, never from raw input, '
    + 'and is signed into the URL. expiresAt is min(requested, signing credentials\' expiry).',
  auth: 'caller',
  input: downloadInput,
  output: downloadOutput,
  noStore: true,
  async handle(input, { deps, caller, grant, requestId }) {
    const { url, key, expiresAt } = await presignDownload(deps, { caller, grant }, input, requestId);
    return { url, key, expiresAt: expiresAt.toISOString() };
  },
};
