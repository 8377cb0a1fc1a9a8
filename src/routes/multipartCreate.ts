import * as z from 'zod';
import { createMultipartUpload } from '../usecases/createMultipartUpload.js';
import type { AuthenticatedRoute } from '../http/route.js';
import { contentType, multipartContentLength, partSize, relativeKey, relativeKeyOut, S3_CALL_ERRORS } from './schemas.js';

export const multipartCreateInput = z.strictObject({
  key: relativeKey,
  contentType,
  contentLength: multipartContentLength,
  partSize: partSize.optional().describe('bytes per part (all but the last); default 8 MiB, or the smallest that keeps the upload within 10000 parts'),
});

const multipartCreateOutput = z.object({
  uploadId: z.string(),
  key: z.string().describe('the full key'),
  relativeKey: relativeKeyOut,
  partSize: z.number().int().describe('bytes per part; send it back with contentLength on every later call'),
  partCount: z.number().int().describe('parts 1..partCount; the last holds the remainder'),
});

export const multipartCreateRoute: AuthenticatedRoute<z.infer<typeof multipartCreateInput>> = {
  id: 'createMultipartUpload',
  method: 'POST',
  path: '/v1/uploads/multipart',
  summary: 'Start a multipart upload for one object key',
  description:
    'Declares the whole object (size, Content-Type) and starts an S3 multipart upload with the caller\'s scoped write session. '
    + 'The size must fit the grant\'s maxUploadBytes and the Content-Type its contentTypes. The broker keeps no state: the client sends '
    + 'contentLength and partSize back with every later call (parts, complete), where they are checked again, so the finished object can only '
    + 'have exactly the declared size. Later calls name the object by key (relative, as here: relativeKey) or fullKey (key as returned here). An empty contentType (a browser\'s type for an unknown file) means application/octet-stream. S3\'s rules: at most 10000 parts of 5 MiB to 5 GiB, only the last smaller. '
    + 'With an upload contract, the upload is created with its tags (x-amz-tagging), metadata, SSE and, for integrity sha256/crc32c, that checksum algorithm.',
  auth: 'caller',
  input: multipartCreateInput,
  output: multipartCreateOutput,
  noStore: true,
  errors: S3_CALL_ERRORS,
  async handle(input, { deps, caller, grant, requestId }) {
    return createMultipartUpload(deps, { caller, grant }, input, requestId);
  },
};
