/**
 * AWS limits that bind the design, written down once as named rules; each says which AWS rule it
 * encodes, so a reviewer can check it against AWS's documentation.
 * Each has boundary tests in test/unit/limits.test.ts.
 */

/** AssumeRole's floor for DurationSeconds. */
export const MIN_SESSION_SECONDS = 900;
/** The broker runs as an assumed role, so its AssumeRole is role chaining: capped at one hour. */
export const MAX_CHAINED_SESSION_SECONDS = 3600;
/** Session policy plaintext limit (characters); packed size is checked by STS itself. */
export const MAX_SESSION_POLICY_CHARS = 2048;
/** RoleSessionName and SourceIdentity: 2–64 of [\w+=,.@-]. */
export const SESSION_NAME_PATTERN = /^[\w+=,.@-]{2,64}$/;
export const MAX_SESSION_NAME_LENGTH = 64;
/** Session tags: key ≤ 128, value ≤ 256 characters of this set. */
export const TAG_VALUE_PATTERN = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;
/** S3 object keys: at most 1024 bytes of UTF-8. */
export const MAX_OBJECT_KEY_BYTES = 1024;
/** SigV4 presigned URL lifetime: 1 s to 7 days. */
export const MIN_PRESIGN_SECONDS = 1;
export const MAX_PRESIGN_SECONDS = 604800;
/** S3 single PUT limit (5 GiB); larger objects need multipart. */
export const MAX_SINGLE_PUT_BYTES = 5 * 1024 ** 3;
/** Multipart uploads: part numbers run 1..10000. */
export const MAX_MULTIPART_PARTS = 10000;
/** Every part but the last must be at least 5 MiB (S3 refuses the completion otherwise: EntityTooSmall). */
export const MIN_PART_BYTES = 5 * 1024 ** 2;
/** No part may exceed 5 GiB. */
export const MAX_PART_BYTES = 5 * 1024 ** 3;
