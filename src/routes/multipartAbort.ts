import * as z from 'zod';
import { abortMultipartUpload } from '../usecases/abortMultipartUpload.js';
import type { AuthenticatedRoute } from '../http/route.js';
import { followUpKey, fullKey, KEY_CHOICE, S3_CALL_ERRORS, uploadId } from './schemas.js';

export const multipartAbortInput = z.strictObject({ key: followUpKey, fullKey: fullKey.optional(), uploadId });

const multipartAbortOutput = z.object({ aborted: z.literal(true) });

export const multipartAbortRoute: AuthenticatedRoute<z.infer<typeof multipartAbortInput>> = {
  id: 'abortMultipartUpload',
  method: 'POST',
  path: '/v1/uploads/multipart/abort',
  summary: 'Abort a multipart upload',
  description:
    'Aborts the upload with the caller\'s scoped write session; S3 frees its parts. An unknown, completed or already aborted uploadId is '
    + '404 upload_not_found. ' + KEY_CHOICE + '(The partner\'s lifecycle rule aborts forgotten uploads after a day anyway.)',
  auth: 'caller',
  input: multipartAbortInput,
  output: multipartAbortOutput,
  noStore: true,
  errors: {
    '404': 'No such multipart upload for this key (upload_not_found)',
    ...S3_CALL_ERRORS,
  },
  async handle(input, { deps, caller, grant, requestId }) {
    await abortMultipartUpload(deps, { caller, grant }, input, requestId);
    return { aborted: true as const };
  },
};
