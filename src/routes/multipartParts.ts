import * as z from 'zod';
import { MAX_PART_URLS_PER_CALL } from '../rules/multipartPlan.js';
import { signUploadParts } from '../usecases/signUploadParts.js';
import type { AuthenticatedRoute } from '../http/route.js';
import { expiresIn, followUpKey, partChecksum, fullKey, isoDate, KEY_CHOICE, multipartContentLength, partNumber, partSize, uploadId } from './schemas.js';

export const multipartPartsInput = z.strictObject({
  key: followUpKey,
  fullKey: fullKey.optional(),
  uploadId,
  partNumbers: z.array(partNumber).min(1).max(MAX_PART_URLS_PER_CALL).describe(`1 to ${MAX_PART_URLS_PER_CALL} distinct part numbers, each at most partCount`),
  contentLength: multipartContentLength.describe('the declaration sent at create, unchanged (the broker keeps no state)'),
  partSize: partSize.describe('the partSize create returned, unchanged'),
  expiresIn,
  checksums: z.array(partChecksum).min(1).max(MAX_PART_URLS_PER_CALL).optional()
    .describe('one base64 digest per partNumbers entry, same order, in the algorithm of the client\'s upload contract (integrity); required under such a contract, refused without one; each URL signs its part\'s checksum'),
});

const multipartPartsOutput = z.object({
  parts: z.array(z.object({
    partNumber: z.number().int(),
    url: z.string(),
    headers: z.record(z.string(), z.string()).describe('send exactly these: Content-Length is signed, and the part\'s checksum header when declared'),
    expiresAt: isoDate,
  })),
});

export const multipartPartsRoute: AuthenticatedRoute<z.infer<typeof multipartPartsInput>> = {
  id: 'presignMultipartParts',
  method: 'POST',
  path: '/v1/uploads/multipart/parts',
  summary: 'Presign a batch of part URLs for a multipart upload',
  description:
    `Signs up to ${MAX_PART_URLS_PER_CALL} part URLs just in time; ask again for a part whose URL expired or whose upload failed. `
    + 'Besides { key, uploadId, partNumbers }, the body repeats the declaration (contentLength, partSize): the broker keeps no state '
    + 'and S3 cannot tell it an upload\'s declared size, so it is checked against the grant again and each URL signs its part\'s exact '
    + 'Content-Length (parts 1..partCount-1 are partSize, the last the remainder). Part numbers beyond partCount are refused. '
    + 'Keep the ETag each part PUT answers with: complete needs it. ' + KEY_CHOICE.trimEnd(),
  auth: 'caller',
  input: multipartPartsInput,
  output: multipartPartsOutput,
  noStore: true,
  async handle(input, { deps, caller, grant, requestId }) {
    const parts = await signUploadParts(deps, { caller, grant }, input, requestId);
    return { parts: parts.map((p) => ({ ...p, expiresAt: p.expiresAt.toISOString() })) };
  },
};
