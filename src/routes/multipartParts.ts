import * as z from 'zod';
import { auditIssuance } from '../usecases/audit.js';
import { checkPartNumbers, MAX_PART_URLS_PER_CALL, partLength, planForGrant } from '../rules/multipartPlan.js';
import { multipartScope } from '../usecases/multipartSession.js';
import { presignSigning } from '../usecases/session.js';
import type { AuthenticatedRoute } from '../http/route.js';
import { expiresIn, isoDate, multipartContentLength, partNumber, partSize, relativeKey, uploadId } from './schemas.js';

export const multipartPartsInput = z.strictObject({
  key: relativeKey,
  uploadId,
  partNumbers: z.array(partNumber).min(1).max(MAX_PART_URLS_PER_CALL).describe(`1 to ${MAX_PART_URLS_PER_CALL} distinct part numbers, each at most partCount`),
  contentLength: multipartContentLength.describe('the declaration sent at create, unchanged (the broker keeps no state)'),
  partSize: partSize.describe('the partSize create returned, unchanged'),
  expiresIn,
});

const multipartPartsOutput = z.object({
  parts: z.array(z.object({
    partNumber: z.number().int(),
    url: z.string(),
    headers: z.record(z.string(), z.string()).describe('send exactly these: Content-Length is signed'),
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
    + 'Keep the ETag each part PUT answers with: complete needs it.',
  auth: 'caller',
  input: multipartPartsInput,
  output: multipartPartsOutput,
  noStore: true,
  async handle(input, { deps, caller, requestId }) {
    const { grant, scope, key } = multipartScope(deps, caller, input.key);
    const plan = planForGrant(grant, input);
    checkPartNumbers(plan, input.partNumbers);
    const { base, expiresAt, sessionName, accessKeyId } = await presignSigning(deps, caller, grant, { action: 'write', key, expiresIn: input.expiresIn });
    const parts = await Promise.all(input.partNumbers.map(async (n) => {
      const signed = await deps.presigner.presignUploadPart({ ...base, uploadId: input.uploadId, partNumber: n, contentLength: partLength(plan, n) });
      return { partNumber: n, url: signed.url, headers: signed.headers, expiresAt: expiresAt.toISOString() };
    }));
    auditIssuance(deps.logger, {
      requestId, caller, action: 'multipart:parts', scope, sessionName, accessKeyId, expiresAt, cachedSession: true,
      details: { uploadId: input.uploadId, partNumbers: input.partNumbers, contentLength: plan.contentLength, partSize: plan.partSize },
    });
    return { parts };
  },
};
