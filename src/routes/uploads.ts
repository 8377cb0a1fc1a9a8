import * as z from 'zod';
import { presignUpload } from '../usecases/presignUpload.js';
import type { AuthenticatedRoute } from '../http/route.js';
import { checksumInput, contentType, expiresIn, isoDate, relativeKey, relativeKeyOut } from './schemas.js';

export const uploadInput = z.discriminatedUnion('method', [
  z.strictObject({
    method: z.literal('PUT'),
    key: relativeKey,
    contentType,
    contentLength: z.number().int().min(0).describe('exact size in bytes; signed into the URL, so the size limit binds'),
    expiresIn,
    checksum: checksumInput.optional(),
  }),
  z.strictObject({ method: z.literal('POST'), key: relativeKey, contentType, expiresIn, checksum: checksumInput.optional() }),
]);

const uploadOutput = z.discriminatedUnion('method', [
  z.object({
    method: z.literal('PUT'), url: z.string(),
    headers: z.record(z.string(), z.string()).describe('every signed header with its exact value (Content-Length included: HTTP clients set it from the body); send exactly these'),
    key: z.string(), relativeKey: relativeKeyOut, expiresAt: isoDate }),
  z.object({ method: z.literal('POST'), url: z.string(), fields: z.record(z.string(), z.string()), key: z.string(), relativeKey: relativeKeyOut, maxBytes: z.number(), expiresAt: isoDate }),
]);

export const uploadsRoute: AuthenticatedRoute<z.infer<typeof uploadInput>> = {
  id: 'presignUpload',
  method: 'POST',
  path: '/v1/uploads',
  summary: 'Presigned upload for one object key',
  description:
    'PUT: a URL that signs Content-Type and Content-Length (send exactly the returned headers). POST: a browser form policy that pins '
    + 'the key, Content-Type, bucket and content-length-range 1..maxUploadBytes. Keys are relative to the grant prefix; the response '
    + 'shows the full key (key) and the relative one (relativeKey). An empty contentType (a browser\'s type for an unknown file) means application/octet-stream, '
    + 'allowed only when the grant lists it. expiresAt is min(requested, signing credentials\' expiry) and matches the URL. '
    + 'A client with an upload contract (whoami: grant.upload) gets it signed too: the declared checksum (Content-MD5 or x-amz-checksum-*), '
    + 'If-None-Match: * (write-once: S3 answers 412 when the key exists), x-amz-tagging, x-amz-meta-* and the SSE headers, each a signed '
    + 'header listed in headers (never a query parameter the client could drop); for POST, eq conditions on the matching form fields. '
    + 'A write-once contract refuses POST (403 outside_grant): a form cannot carry If-None-Match.',
  auth: 'caller',
  input: uploadInput,
  output: uploadOutput,
  noStore: true,
  async handle(input, { deps, caller, grant, requestId }) {
    const upload = await presignUpload(deps, { caller, grant }, input, requestId);
    return { ...upload, expiresAt: upload.expiresAt.toISOString() };
  },
};
