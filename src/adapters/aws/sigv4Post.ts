import { createHmac } from 'node:crypto';

/**
 * Browser POST forms (S3 "POST policy"), built and signed as `createPresignedPost` from
 * @aws-sdk/s3-presigned-post builds them, without an S3Client per form: same fields in the same
 * order, same policy document byte for byte, same signature
 * (test/property/presignPostEquivalence.property.test.ts compares fields, decoded policy and URL).
 *
 * What createPresignedPost does, and so what this repeats:
 *   - signs at one instant: X-Amz-Date is that instant to the second (`YYYYMMDDTHHMMSSZ`), the
 *     credential scope `<date>/<client region>/s3/aws4_request` (the client's region and the
 *     service "s3", not the endpoint's signing region);
 *   - fields = the caller's Fields, then bucket, X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date and,
 *     when the credentials have one, X-Amz-Security-Token; then key, Policy, X-Amz-Signature;
 *   - conditions = the caller's Conditions, then `{name: value}` for each of those fields, then
 *     `{key}` (or `["starts-with", "$key", prefix]` for a key ending in `${filename}`), each
 *     JSON-serialised and kept once (first occurrence wins);
 *   - policy = `{"expiration": <instant + Expires s, ISO 8601 without milliseconds>, "conditions": [...]}`,
 *     base64 of its UTF-8; X-Amz-Signature = hex HMAC-SHA256 of that base64 text under the SigV4 key.
 */

export type PostCondition = readonly unknown[] | Readonly<Record<string, unknown>>;

export interface PostRequest {
  bucket: string;
  /** Full object key, unencoded; a trailing `${filename}` becomes a starts-with condition, as in the SDK. */
  key: string;
  conditions: readonly PostCondition[];
  fields: Readonly<Record<string, string>>;
  expiresInSeconds: number;
  signingDate: Date;
}

export interface PostCredentials { accessKeyId: string; sessionToken?: string | undefined }

/**
 * The SigV4 signing key for one day, region and service. Synchronous node:crypto HMACs rather than
 * `getSigningKey` from @smithy/signature-v4 (the function createPresignedPost calls): that one is
 * async (a promise per HMAC step, per form) and keeps its own module-level cache of up to 50 derived
 * keys whose lifetime no caller controls; here the caller (./sigv4Presign.ts) keeps the key with
 * the session's signer and drops it with the session. Same chain, so the same key (the property
 * test signs through both).
 */
export function deriveSigningKey(secretAccessKey: string, shortDate: string, region: string, service: string): Buffer {
  let key: Buffer = createHmac('sha256', `AWS4${secretAccessKey}`).update(shortDate, 'utf8').digest();
  for (const part of [region, service, 'aws4_request']) key = createHmac('sha256', key).update(part, 'utf8').digest();
  return key;
}

/** `20240101T000000Z` for an instant: ISO 8601 without separators and milliseconds (the SDK's iso8601 + strip). */
export function amzDate(instant: Date): string {
  return iso8601(instant).replace(/[-:]/g, '');
}

/**
 * The form fields of a POST policy signed with `signingKey` (derived for `amzDate(signingDate)`'s
 * day, `region` and "s3"). `url` is the form's action, which the caller resolved once per target.
 */
export function signPost(request: PostRequest, credentials: PostCredentials, region: string, signingKey: Buffer): Record<string, string> {
  const signingDate = amzDate(request.signingDate);
  // The SDK's `{ ...Fields, bucket, X-Amz-Algorithm, … }`: assignments keep a key the caller's fields
  // already have where it was, as the spread does. Object.assign rather than that spread: on Node 20
  // a spread followed by new keys takes a slow path (several µs here, a quarter of the form).
  const fields: Record<string, string> = Object.assign({}, request.fields);
  fields.bucket = request.bucket;
  fields['X-Amz-Algorithm'] = 'AWS4-HMAC-SHA256';
  fields['X-Amz-Credential'] = `${credentials.accessKeyId}/${signingDate.slice(0, 8)}/${region}/s3/aws4_request`;
  fields['X-Amz-Date'] = signingDate;
  // The SDK tests truthiness: an empty token is no token.
  if (credentials.sessionToken) fields['X-Amz-Security-Token'] = credentials.sessionToken;
  // The SDK keeps each condition's JSON text in a Set, parses them back and serialises the whole
  // document: JSON.stringify(JSON.parse(text)) is `text` again for these plain values, so the
  // texts are joined directly. A field's condition `{"name":"value"}` is written as the text
  // JSON.stringify({ [name]: value }) gives, without building that object (a measurable share of a form).
  const conditions = new Set<string>();
  for (const condition of request.conditions) conditions.add(JSON.stringify(condition));
  for (const name of Object.keys(fields)) conditions.add(`{${JSON.stringify(name)}:${JSON.stringify(fields[name])}}`);
  conditions.add(request.key.endsWith('${filename}')
    ? JSON.stringify(['starts-with', '$key', request.key.substring(0, request.key.lastIndexOf('${filename}'))])
    : `{"key":${JSON.stringify(request.key)}}`);
  const expiration = iso8601(new Date(request.signingDate.getTime() + request.expiresInSeconds * 1000));
  const policy = Buffer.from(`{"expiration":${JSON.stringify(expiration)},"conditions":[${[...conditions].join(',')}]}`, 'utf8').toString('base64');
  // `{ ...fields, key, Policy, X-Amz-Signature }`, as the SDK returns them.
  fields.key = request.key;
  fields.Policy = policy;
  fields['X-Amz-Signature'] = createHmac('sha256', signingKey).update(policy, 'utf8').digest('hex');
  return fields;
}

function iso8601(instant: Date): string {
  return instant.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
