/**
 * Upload contracts (docs/upload-contracts.md): a client's contract, rendered for one request, is
 * what its presigned URL or form signs and what the broker's own multipart calls send, so S3 itself
 * refuses an upload that departs from it. Pure: templates, checksum formats, the header and form
 * spellings, and which values are per caller (safe to pin in the cached session's policy) or per
 * request (signed into the URL only).
 */
import { GrantViolationError, InvalidRequestError } from '../domain/errors.js';
import type { Caller, DeclaredChecksum, IntegrityAlgorithm, UploadContract, UploadTerms } from '../domain/model.js';

/** The template variables of tag and metadata values; `${requestId}` is the only per-request one. */
export const TEMPLATE_VARIABLES = ['${sub}', '${client}', '${partner}', '${requestId}'] as const;
export const PER_REQUEST_VARIABLE = '${requestId}';
/** The longest a variable can expand to (a subject segment, a client or partner name, a request id). */
export const MAX_VARIABLE_CHARS = 64;

/** S3 allows 10 tags per object. */
export const MAX_CONTRACT_TAGS = 10;
export const MAX_CONTRACT_METADATA = 10;
/** S3's tag rules: keys 1–128, values 0–256 of letters, digits, spaces and `_ . : / = + - @`. */
export const TAG_KEY = /^(?!aws:)[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;
const TAG_VALUE_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
export const MAX_TAG_VALUE_CHARS = 256;
/** Metadata travels as HTTP headers (`x-amz-meta-<key>`): lowercase keys, plain ASCII values. */
export const METADATA_KEY = /^[a-z0-9][a-z0-9-]{0,63}$/;
const METADATA_VALUE_CHARS = /^[A-Za-z0-9 _.:/=+\-@,]*$/;
export const MAX_METADATA_VALUE_CHARS = 256;
/** SSE-KMS keys are named by full key ARN: that is the form S3 compares with s3:x-amz-server-side-encryption-aws-kms-key-id. */
export const KMS_KEY_ARN = /^arn:(aws|aws-cn|aws-us-gov):kms:[a-z]{2}(-[a-z]+)+-\d:\d{12}:key\/[A-Za-z0-9-]{1,128}$/;

/** Digest sizes in bytes; values travel as base64 (S3's Content-MD5 and x-amz-checksum-* spelling). */
const DIGEST_BYTES: Readonly<Record<IntegrityAlgorithm, number>> = { md5: 16, sha256: 32, crc32c: 4 };

/** The header each algorithm's checksum travels in (lowercase, as signed). */
export const CHECKSUM_HEADER: Readonly<Record<IntegrityAlgorithm, string>> = {
  md5: 'content-md5',
  sha256: 'x-amz-checksum-sha256',
  crc32c: 'x-amz-checksum-crc32c',
};

/** A template with every variable removed: what the character rules apply to. */
function literalPart(template: string): string {
  return TEMPLATE_VARIABLES.reduce((s, v) => s.replaceAll(v, ''), template);
}

/** Why a tag value template is unusable, or undefined (the config schema calls this). */
export function tagValueProblem(template: string): string | undefined {
  if (!TAG_VALUE_CHARS.test(literalPart(template))) {
    return `may hold only letters, digits, spaces, _ . : / = + - @ and the variables ${TEMPLATE_VARIABLES.join(' ')} (S3's tag rules; "$", "*" and "?" would also read as IAM variables or wildcards)`;
  }
  if (worstCaseLength(template) > MAX_TAG_VALUE_CHARS) return `may expand to more than ${MAX_TAG_VALUE_CHARS} characters (each variable counts ${MAX_VARIABLE_CHARS})`;
  return undefined;
}

/** Why a metadata value template is unusable, or undefined. */
export function metadataValueProblem(template: string): string | undefined {
  if (!METADATA_VALUE_CHARS.test(literalPart(template))) {
    return `may hold only ASCII letters, digits, spaces, _ . : / = + - @ , and the variables ${TEMPLATE_VARIABLES.join(' ')}`;
  }
  if (worstCaseLength(template) > MAX_METADATA_VALUE_CHARS) return `may expand to more than ${MAX_METADATA_VALUE_CHARS} characters (each variable counts ${MAX_VARIABLE_CHARS})`;
  return undefined;
}

/** The template at its longest: every variable as MAX_VARIABLE_CHARS characters. */
export function worstCaseLength(template: string): number {
  return TEMPLATE_VARIABLES.reduce((s, v) => s.replaceAll(v, 'x'.repeat(MAX_VARIABLE_CHARS)), template).length;
}

/** Whether a template depends only on the caller (so a per-caller cached session policy may pin it). */
export function isPerCaller(template: string): boolean {
  return !template.includes(PER_REQUEST_VARIABLE);
}

/** A request id as a tag or metadata value may carry it: allowed characters only, at most 64. */
export function safeRequestId(requestId: string): string {
  return requestId.replace(/[^A-Za-z0-9_.:/=+\-@]/g, '_').slice(0, MAX_VARIABLE_CHARS);
}

/** Fills a template's variables; `requestId` undefined leaves `${requestId}` in place (policy use never needs it). */
export function renderTemplate(template: string, caller: Pick<Caller, 'subjectSegment' | 'clientId' | 'partnerId'>, requestId?: string): string {
  let out = template.replaceAll('${sub}', caller.subjectSegment).replaceAll('${client}', caller.clientId).replaceAll('${partner}', caller.partnerId);
  if (requestId !== undefined) out = out.replaceAll(PER_REQUEST_VARIABLE, safeRequestId(requestId));
  return out;
}

/** Whether `value` is the base64 of exactly one `algorithm` digest. */
export function checksumProblem(algorithm: IntegrityAlgorithm, value: string): string | undefined {
  const bytes = DIGEST_BYTES[algorithm];
  const length = 4 * Math.ceil(bytes / 3);
  if (value.length !== length || !/^[A-Za-z0-9+/]+={0,2}$/.test(value) || Buffer.from(value, 'base64').length !== bytes) {
    return `must be the base64 of the ${bytes}-byte ${algorithm} digest (${length} characters), e.g. what \`openssl dgst -${algorithm === 'crc32c' ? 'crc32c' : algorithm} -binary | base64\` prints`;
  }
  return undefined;
}

/**
 * The whole object's checksum a multipart completion may declare: only under integrity crc32c, where
 * create made the upload's checksum type FULL_OBJECT and S3 verifies the declared value against the
 * assembled object. S3 offers no full-object SHA-256 or MD5 for multipart uploads (those are
 * composite: a checksum of the parts' checksums), so sha256 and md5 uploads are checked per part only.
 * Optional: a completion without it is still held to every part's recorded checksum.
 */
export function fullObjectChecksum(contract: UploadContract | undefined, declared: DeclaredChecksum | undefined): string | undefined {
  if (declared === undefined) return undefined;
  const integrity = contract?.integrity ?? 'none';
  if (integrity !== 'crc32c') {
    throw new InvalidRequestError(
      `checksum (the whole object's) is only accepted for a client whose upload contract sets integrity crc32c (this client's is ${integrity}): `
      + 'S3 verifies a whole multipart object\'s checksum only for CRC algorithms (checksum type FULL_OBJECT); sha256 and md5 uploads are checked per part');
  }
  if (declared.algorithm !== 'crc32c') throw new InvalidRequestError(`checksum.algorithm must be crc32c, the algorithm of this client's upload contract (got ${declared.algorithm})`);
  const problem = checksumProblem('crc32c', declared.value);
  if (problem !== undefined) throw new InvalidRequestError(`checksum.value ${problem}`);
  return declared.value;
}

/**
 * The checksum a request must declare under `contract`: none without an integrity contract (a
 * declared one is then refused, since nothing would check it); else exactly the contract's algorithm,
 * in S3's base64 form.
 */
export function checkedChecksum(contract: UploadContract | undefined, declared: DeclaredChecksum | undefined, field = 'checksum'): DeclaredChecksum | undefined {
  const integrity = contract?.integrity ?? 'none';
  if (integrity === 'none') {
    if (declared !== undefined) throw new InvalidRequestError(`${field} is only accepted for a client whose upload contract sets integrity (this client's is none)`);
    return undefined;
  }
  if (declared === undefined) {
    throw new InvalidRequestError(`${field} is required: this client's upload contract requires integrity ${integrity} (send { algorithm: "${integrity}", value: <base64 digest of the bytes> })`);
  }
  if (declared.algorithm !== integrity) {
    throw new InvalidRequestError(`${field}.algorithm must be "${integrity}", the algorithm this client's upload contract requires (got "${declared.algorithm}")`);
  }
  const problem = checksumProblem(integrity, declared.value);
  if (problem !== undefined) throw new InvalidRequestError(`${field}.value ${problem}`);
  return declared;
}

/** The contract rendered for one request; `undefined` contract → no terms at all (v1 behaviour). */
export function uploadTerms(
  contract: UploadContract | undefined,
  caller: Pick<Caller, 'subjectSegment' | 'clientId' | 'partnerId'>,
  requestId: string,
  checksum?: DeclaredChecksum,
): UploadTerms | undefined {
  if (contract === undefined) return undefined;
  const render = (r: Record<string, string>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, renderTemplate(v, caller, requestId)]));
  return {
    ...(checksum === undefined ? {} : { checksum }),
    noOverwrite: !contract.overwrite,
    tags: render(contract.tags),
    metadata: render(contract.metadata),
    ...(contract.encryption === undefined ? {} : { encryption: contract.encryption }),
  };
}

/** S3's tagging header (and POST's) spelling: URL-encoded `key=value` pairs joined by `&`, keys in config order. */
export function taggingQuery(tags: Record<string, string>): string {
  return Object.entries(tags).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
}

/** The POST form's `tagging` field: S3 takes the XML Tagging document there, not the header form. */
export function taggingXml(tags: Record<string, string>): string {
  const esc = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&apos;');
  const items = Object.entries(tags).map(([k, v]) => `<Tag><Key>${esc(k)}</Key><Value>${esc(v)}</Value></Tag>`).join('');
  return `<Tagging><TagSet>${items}</TagSet></Tagging>`;
}

/**
 * The headers a PUT (or the broker's CreateMultipartUpload) carries for `terms`, lowercase as
 * signed: If-None-Match, the checksum, x-amz-tagging, x-amz-meta-*, the SSE headers. Part URLs take
 * only the checksum (`partHeaders`). Every one is signed, none hoisted into the query.
 */
export function contractHeaders(terms: UploadTerms | undefined): Record<string, string> {
  if (terms === undefined) return {};
  const headers: Record<string, string> = {};
  if (terms.checksum !== undefined) headers[CHECKSUM_HEADER[terms.checksum.algorithm]] = terms.checksum.value;
  if (terms.noOverwrite) headers['if-none-match'] = '*';
  if (Object.keys(terms.tags).length > 0) headers['x-amz-tagging'] = taggingQuery(terms.tags);
  for (const [k, v] of Object.entries(terms.metadata)) headers[`x-amz-meta-${k}`] = v;
  if (terms.encryption !== undefined) {
    headers['x-amz-server-side-encryption'] = terms.encryption.type;
    if (terms.encryption.type === 'aws:kms') headers['x-amz-server-side-encryption-aws-kms-key-id'] = terms.encryption.keyId;
  }
  return headers;
}

/** Refuses a POST form for a write-once contract: forms have no conditional-write field. */
export function assertPostAllowed(contract: UploadContract | undefined): void {
  if (contract === undefined) return;
  if (!contract.overwrite) {
    throw new GrantViolationError(
      'POST form uploads are refused for this client: its upload contract sets overwrite: false, and an S3 POST form cannot carry '
      + 'If-None-Match, so it could replace an existing object; use method PUT (signs If-None-Match: *) or a multipart upload',
    );
  }
}

/**
 * What a session policy can pin of a contract (IAM condition keys exist for write-once, tags and
 * SSE; none for checksums or metadata). Only per-caller values: the signing session is cached per
 * caller and action, so a tag whose value holds `${requestId}` is pinned by key only (`null`).
 */
export interface SessionContract {
  noOverwrite: boolean;
  tags: Record<string, string | null>;
  encryption?: UploadContract['encryption'];
}

export function sessionContract(contract: UploadContract | undefined, caller: Pick<Caller, 'subjectSegment' | 'clientId' | 'partnerId'>): SessionContract | undefined {
  if (contract === undefined) return undefined;
  return {
    noOverwrite: !contract.overwrite,
    tags: Object.fromEntries(Object.entries(contract.tags).map(([k, v]) => [k, isPerCaller(v) ? renderTemplate(v, caller) : null])),
    ...(contract.encryption === undefined ? {} : { encryption: contract.encryption }),
  };
}
