import * as z from 'zod';
import { MAX_MULTIPART_PARTS } from '../rules/limits.js';
import { completeMultipartUpload } from '../usecases/completeMultipartUpload.js';
import type { AuthenticatedRoute } from '../http/route.js';
import { checksumInput, followUpKey, fullKey, partChecksum, KEY_CHOICE, multipartContentLength, partNumber, partSize, relativeKeyOut, S3_CALL_ERRORS, uploadId } from './schemas.js';

/** 10000 parts of `{"partNumber":10000,"etag":"\"<32 hex>\""}` are about 700 KB. */
const COMPLETE_MAX_BODY_BYTES = 1024 * 1024;

export const multipartCompleteInput = z.strictObject({
  key: followUpKey,
  fullKey: fullKey.optional(),
  uploadId,
  contentLength: multipartContentLength.describe('the declaration sent at create, unchanged (the broker keeps no state)'),
  partSize: partSize.describe('the partSize create returned, unchanged'),
  parts: z.array(z.strictObject({
    partNumber,
    etag: z.string().min(1).max(256).describe('the ETag header the part\'s PUT answered with (quotes optional)'),
    checksum: partChecksum.optional().describe('the part\'s base64 sha256 or crc32c checksum (contract integrity sha256/crc32c): compared with the one S3 recorded'),
  })).min(1).max(MAX_MULTIPART_PARTS).describe('every part 1..partCount exactly once, in any order'),
  checksum: checksumInput.optional().describe(
    'optional: the whole object\'s base64 crc32c, only for a client whose upload contract sets integrity crc32c (refused otherwise): '
    + 'the upload was created with checksum type FULL_OBJECT and S3 verifies this value against the assembled object (a mismatch is 400 upload_mismatch). '
    + 'S3 has no whole-object sha256 or md5 for multipart uploads: those are checked per part'),
});

const multipartCompleteOutput = z.object({ key: z.string().describe('the full key'), relativeKey: relativeKeyOut, etag: z.string() });

export const multipartCompleteRoute: AuthenticatedRoute<z.infer<typeof multipartCompleteInput>> = {
  id: 'completeMultipartUpload',
  method: 'POST',
  path: '/v1/uploads/multipart/complete',
  summary: 'Complete a multipart upload after checking it against its declaration',
  description:
    'Besides { key, uploadId, parts }, the body repeats the declaration (contentLength, partSize), checked against the grant again. '
    + 'Before CompleteMultipartUpload the broker reads S3\'s ListParts and refuses (400 upload_mismatch, naming every difference) unless the '
    + 'uploaded parts are exactly 1..partCount, each of exactly its declared length, with the ETags sent here; the object can therefore never '
    + 'exceed maxUploadBytes nor differ from the declaration. A refused completion leaves the upload open: upload the named parts again and retry. '
    + 'An unknown, completed or aborted uploadId is 404 upload_not_found. Under an upload contract with integrity sha256 or crc32c every part '
    + 'must carry the checksum S3 recorded through its signed part URL (and equal a checksum sent here); under overwrite: false the completion '
    + 'carries If-None-Match: *, and an existing key is 403 outside_grant. '
    + 'Under integrity crc32c the upload has a full-object checksum (S3\'s FULL_OBJECT type): send the whole object\'s crc32c as checksum and S3 '
    + 'verifies it (optional; without it only the parts are checked). ' + KEY_CHOICE.trimEnd(),
  auth: 'caller',
  input: multipartCompleteInput,
  output: multipartCompleteOutput,
  noStore: true,
  maxBodyBytes: COMPLETE_MAX_BODY_BYTES,
  errors: {
    '400': 'Invalid request (invalid_request, invalid_key), or the uploaded parts differ from the declaration or lack the contract\'s checksums (upload_mismatch)',
    '404': 'No such multipart upload for this key (upload_not_found)',
    ...S3_CALL_ERRORS,
  },
  async handle(input, { deps, caller, grant, requestId }) {
    return completeMultipartUpload(deps, { caller, grant }, input, requestId);
  },
};
