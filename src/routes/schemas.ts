/**
 * Request and response pieces shared by several routes.
 *
 * Each schema is marked `@__PURE__`: building one has no effect outside the object it returns, so the
 * bundler may drop the ones a function's route never uses instead of building all of them at every cold
 * start (the credentials bundle builds 2 of these 14, not all). Used schemas are built exactly as before;
 * unbundled code (tests, tsx) ignores the marks.
 */
import * as z from 'zod';
import { ACTIONS } from '../domain/actions.js';
import { MAX_MULTIPART_PARTS, MAX_PART_BYTES, MAX_PRESIGN_SECONDS, MIN_PART_BYTES, MIN_PRESIGN_SECONDS } from '../rules/limits.js';

/** A key relative to the grant's prefix; the full rules live in rules/objectKey.ts. */
export const relativeKey = /* @__PURE__ */ z.string().min(1).max(1024).describe('object key relative to the grant prefix');
/** A full key, exactly as a response's `key` stated it; it must start with the grant prefix (rules/scope.ts relativeKeyOf). */
export const fullKey = /* @__PURE__ */ z.string().min(1).max(1024)
  .describe('alternative to key: the full key exactly as create returned it (must start with the grant prefix); send exactly one of key and fullKey');
/** The optional twin of relativeKey on the multipart follow-ups: exactly one of key and fullKey (checked in rules/scope.ts). */
export const followUpKey = /* @__PURE__ */ relativeKey.optional()
  .describe('object key relative to the grant prefix (never the full key: send that as fullKey); send exactly one of key and fullKey');
/** The sentence each multipart follow-up route's description carries about naming its object. */
export const KEY_CHOICE = 'Name the object by key (relative to the grant prefix, as everywhere) or by fullKey (exactly the key create returned), '
  + 'exactly one of them: the broker never guesses whether a key that starts with the grant prefix meant the full key. ';
/** What upload and multipart responses add beside the full `key`. */
export const relativeKeyOut = /* @__PURE__ */ z.string().describe('the key relative to the grant prefix: what to send back as key');
export const expiresIn = /* @__PURE__ */ z.number().int().min(MIN_PRESIGN_SECONDS).max(MAX_PRESIGN_SECONDS).default(300)
  .describe('requested URL lifetime in seconds; the response states the real one');
export const contentType = /* @__PURE__ */ z.string().max(255)
  .refine((t) => t === '' || t.length >= 3, 'must be empty or at least 3 characters')
  .describe('media type, one of the grant\'s contentTypes; empty (what browsers give an unknown file) means application/octet-stream');
export const action = /* @__PURE__ */ z.enum(ACTIONS);
export const isoDate = /* @__PURE__ */ z.string().describe('ISO 8601 instant');

// ---- multipart uploads ----------------------------------------------------------------------
/** What S3 returned from create; printable ASCII (S3's ids are URL-safe base64-like, RGW's `2~…`). */
export const uploadId = /* @__PURE__ */ z.string().min(1).max(1024).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
  .describe('the uploadId returned by POST /v1/uploads/multipart');
export const multipartContentLength = /* @__PURE__ */ z.number().int().min(1, 'must be at least 1 byte (an empty object is a single PUT)')
  .describe('the whole object\'s exact size in bytes, as declared at create; at most the grant\'s maxUploadBytes');
// These two wrap their chain in an arrow: the bundler keeps a marked call's arguments when it cannot
// prove them free of effects, and a template with an imported constant in it is such an argument.
export const partSize = /* @__PURE__ */ (() => z.number().int()
  .min(MIN_PART_BYTES, `must be at least ${MIN_PART_BYTES} bytes (S3's 5 MiB minimum for every part but the last)`)
  .max(MAX_PART_BYTES, `must be at most ${MAX_PART_BYTES} bytes (S3's 5 GiB part limit)`))();
export const partNumber = /* @__PURE__ */ (() => z.number().int().min(1, 'part numbers start at 1')
  .max(MAX_MULTIPART_PARTS, `S3 allows part numbers up to ${MAX_MULTIPART_PARTS}`))();

/** Error statuses the routes that call S3 themselves (multipart create, complete, abort, list) add to the common ones. */
export const S3_CALL_ERRORS: Readonly<Record<string, string>> = {
  '403': 'Outside the caller\'s grant (outside_grant), access revoked by an operator (access_revoked), or S3 denied the call (s3_access_denied)',
  '502': 'The partner role could not be assumed, or STS or S3 answered unusably (s3_error)',
  '503': 'STS or S3 throttled or unavailable (sts_throttled, sts_unavailable, s3_unavailable), the identity provider\'s keys could not be fetched (jwks_unavailable), or the grant store could not be read (grant_store_unavailable); Retry-After says when to retry',
};

// ---- upload contracts (docs/upload-contracts.md) ------------------------------------------------
/** A declared checksum; the contract's algorithm and S3's base64 format are checked in rules/uploadContract.ts. */
export const checksumInput = /* @__PURE__ */ z.strictObject({
  algorithm: z.enum(['md5', 'sha256', 'crc32c']).describe('the algorithm the client\'s upload contract requires (whoami: grant.upload.integrity)'),
  value: z.string().min(1).max(64).describe('base64 of the digest of the exact bytes, as S3\'s Content-MD5 / x-amz-checksum-* headers carry it'),
}).describe('required when the client\'s upload contract sets integrity (md5, sha256, crc32c), refused otherwise; signed as a header the upload must carry');
/** One part's checksum (base64) as the parts and complete calls take it. */
export const partChecksum = /* @__PURE__ */ z.string().min(1).max(64);
