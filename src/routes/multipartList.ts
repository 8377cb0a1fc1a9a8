import * as z from 'zod';
import { listUploadParts } from '../usecases/listUploadParts.js';
import type { AuthenticatedRoute } from '../http/route.js';
import { followUpKey, fullKey, KEY_CHOICE, S3_CALL_ERRORS, uploadId } from './schemas.js';

export const multipartListInput = z.strictObject({ key: followUpKey, fullKey: fullKey.optional(), uploadId });

const multipartListOutput = z.object({
  parts: z.array(z.object({
    partNumber: z.number().int(),
    size: z.number().int().describe('bytes S3 holds for the part'),
    etag: z.string().describe('the part\'s ETag as S3 lists it (quoted)'),
  })).describe('every part uploaded so far, in part-number order'),
});

export const multipartListRoute: AuthenticatedRoute<z.infer<typeof multipartListInput>> = {
  id: 'listMultipartParts',
  method: 'POST',
  path: '/v1/uploads/multipart/list',
  summary: 'List the parts uploaded so far',
  description:
    'S3\'s ListParts (every page) with the caller\'s scoped write session: each part uploaded so far, with its size and ETag, in part-number '
    + 'order, so a client can resume an upload (sign and PUT only the missing parts) and complete it with these ETags. '
    + 'An unknown, completed or aborted uploadId is 404 upload_not_found. ' + KEY_CHOICE.trimEnd(),
  auth: 'caller',
  input: multipartListInput,
  output: multipartListOutput,
  noStore: true,
  errors: {
    '404': 'No such multipart upload for this key (upload_not_found)',
    ...S3_CALL_ERRORS,
  },
  async handle(input, { deps, caller, grant, requestId }) {
    return { parts: await listUploadParts(deps, { caller, grant }, input, requestId) };
  },
};
