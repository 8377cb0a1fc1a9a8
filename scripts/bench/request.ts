/**
 * The upload every section presigns, shared by the sections and the SDK-only baselines (which are
 * bundled: keep this module free of side effects and imports).
 */
export const PRESIGN_EXPIRES_IN = 600;
export const UPLOAD_TYPE = 'image/jpeg';
export const UPLOAD_BYTES = 1024;
/**
 * The headers the adapter signs into a PUT URL: a copy of src/adapters/aws/s3Presigner.ts's PUT_SIGNED_HEADERS, which
 * that module does not export. Import it from there once it does, and delete this copy.
 */
export const PUT_SIGNED_HEADERS = new Set(['content-type', 'content-length']);
