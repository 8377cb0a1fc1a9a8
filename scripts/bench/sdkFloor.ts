/**
 * The signing floor as issue 16 defines it: one `SignatureV4.presign` (the SDK's own signer,
 * @smithy/signature-v4) from a signer built once per session, for the same method, key, signed
 * headers and expiry the handler signs. The request is the one the S3 client serialises (virtual-
 * hosted AWS endpoint, `x-id`, `X-Amz-Content-Sha256: UNSIGNED-PAYLOAD`, content-type unsignable),
 * exactly what S3RequestPresigner hands the signer.
 *
 * `presign` is checked byte-identical to the broker's own URL (src/adapters/aws/sigv4Presign.ts)
 * before any timing (`assertSameUrl`), so the floor can only be cheaper signing of the same thing,
 * never a different request. The broker's own signer is faster than the SDK's; the section also
 * prints each line against it, labelled "strict floor".
 *
 * `presignPost` is the same rule for a browser POST form: the steps of @aws-sdk/s3-presigned-post's
 * `createPresignedPost`, with the SDK's own pieces (createScope and getSigningKey from
 * @smithy/signature-v4, and the S3 client's Node defaults for sha256, base64Encoder and utf8Decoder
 * from @smithy/core), minus what a client costs per form: no S3Client, its region and credentials
 * resolved once here, and the endpoint (the form's action) formatted once instead of resolved per
 * form, as the URL floor has no client per URL. `assertSameForm` checks it field for field against
 * the broker's form signer (src/adapters/aws/sigv4Post.ts) before any timing.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { Sha256 } from '@smithy/core/checksum';
import { fromUtf8, toBase64, toHex, toUint8Array } from '@smithy/core/serde';
import { createScope, getSigningKey, SignatureV4 } from '@smithy/signature-v4';
import type { PostRequest } from '../../src/adapters/aws/sigv4Post.js';
import { formatUrl, greedyLabel, type PresignRequest } from '../../src/adapters/aws/sigv4Presign.js';
import type { TemporaryCredentials } from '../../src/domain/model.js';

const METHOD = { PutObject: 'PUT', UploadPart: 'PUT', GetObject: 'GET' } as const;

/** A POST form request as the broker's form signer takes it (the bucket is the signer's). */
export type PostFormRequest = Omit<PostRequest, 'bucket'>;
export interface PostForm { url: string; fields: Record<string, string> }

/**
 * What createPresignedPost reads from `client.config` for a form, resolved once: the S3 client's
 * defaults in Node (@aws-sdk/client-s3's runtime config: `sha256: Sha256`, `base64Encoder: toBase64`,
 * `utf8Decoder: fromUtf8`, all from @smithy/core; the broker's client config overrides none of them).
 */
const POST_CONFIG = { sha256: Sha256, base64Encoder: toBase64, utf8Decoder: fromUtf8 } as const;

/** createPresignedPost's `iso8601`: ISO 8601 without milliseconds. */
const iso8601 = (date: Date): string => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** node:crypto's SHA-256, keyed (HMAC) when given a secret: what @smithy/hash-node gives the SDK's signer. */
class NodeSha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void { this.hash.update(toBuffer(data)); }
  digest(): Promise<Uint8Array> { return Promise.resolve(this.hash.digest()); }
  reset(): void { throw new Error('not supported'); }
}

function toBuffer(data: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/** One session's SDK signer for an AWS bucket (virtual-hosted, the region's s3 endpoint). */
export class SdkFloorSigner {
  private readonly signer: SignatureV4;
  private readonly host: string;
  /** The client's resolved credentials (what `await client.config.credentials()` gives createPresignedPost). */
  private readonly credentials: TemporaryCredentials;
  /** A form's action: formatUrl(toEndpointV1(endpoint)) of the bucket's virtual-hosted AWS endpoint, formatted once. */
  private readonly postUrl: string;

  constructor(credentials: TemporaryCredentials, private readonly bucket: string, private readonly region: string) {
    this.credentials = { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey, sessionToken: credentials.sessionToken, expiration: credentials.expiration };
    this.signer = new SignatureV4({ credentials: this.credentials, region, service: 's3', sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
    this.host = `${bucket}.s3.${region}.amazonaws.com`;
    this.postUrl = `https://${this.host}/`;
  }

  async presign(request: Omit<PresignRequest, 'target'>): Promise<string> {
    const headers: Record<string, string> = { ...request.headers, host: this.host, 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD' };
    const unhoistable = new Set(request.unhoistableHeaders ?? []);
    for (const name of Object.keys(headers)) if (name.startsWith('x-amz-server-side-encryption')) unhoistable.add(name);
    const presigned = await this.signer.presign({
      method: METHOD[request.operation], protocol: 'https:', hostname: this.host,
      path: `/${greedyLabel(request.key)}`,
      query: { ...request.query, 'x-id': request.operation }, headers,
    }, {
      expiresIn: request.expiresInSeconds, signingDate: request.signingDate, signingRegion: this.region, signingService: 's3',
      unsignableHeaders: new Set(['content-type']), unhoistableHeaders: unhoistable,
      ...(request.signableHeaders === undefined ? {} : { signableHeaders: new Set(request.signableHeaders) }),
    });
    return formatUrl(presigned.protocol, this.host, presigned.path, (presigned.query ?? {}) as Record<string, string | string[] | null>);
  }

  /**
   * One POST form, step for step as createPresignedPost builds it (node_modules/@aws-sdk/s3-presigned-post):
   * `request.signingDate` stands for its `new Date(Date.now() + systemClockOffset)`; the region and
   * credentials are the client's, resolved once; the endpoint is formatted once (see the module comment).
   */
  async presignPost(request: PostFormRequest): Promise<PostForm> {
    const { sha256, base64Encoder, utf8Decoder } = POST_CONFIG;
    const now = request.signingDate;
    const signingDate = iso8601(now).replace(/[-:]/g, '');
    const shortDate = signingDate.slice(0, 8);
    const credentialScope = createScope(shortDate, this.region, 's3');
    const credential = `${this.credentials.accessKeyId}/${credentialScope}`;
    const fields: Record<string, string> = {
      ...request.fields,
      bucket: this.bucket,
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': credential,
      'X-Amz-Date': signingDate,
      ...(this.credentials.sessionToken ? { 'X-Amz-Security-Token': this.credentials.sessionToken } : {}),
    };
    const expiration = new Date(now.valueOf() + request.expiresInSeconds * 1000);
    // The SDK's order: the caller's conditions, one {name: value} per field, then the key's; each kept once.
    const conditionsSet = new Set<string>();
    for (const condition of request.conditions) conditionsSet.add(JSON.stringify(condition));
    for (const [k, v] of Object.entries(fields)) conditionsSet.add(JSON.stringify({ [k]: v }));
    if (request.key.endsWith('${filename}')) {
      conditionsSet.add(JSON.stringify(['starts-with', '$key', request.key.substring(0, request.key.lastIndexOf('${filename}'))]));
    } else {
      conditionsSet.add(JSON.stringify({ key: request.key }));
    }
    const conditions = Array.from(conditionsSet).map((item) => JSON.parse(item) as unknown);
    const encodedPolicy = base64Encoder(utf8Decoder(JSON.stringify({ expiration: iso8601(expiration), conditions })));
    const signingKey = await getSigningKey(sha256, this.credentials, shortDate, this.region, 's3');
    // createPresignedPost's hmac(ctor, secret, data).
    const hash = new sha256(signingKey);
    hash.update(toUint8Array(encodedPolicy));
    const signature = await hash.digest();
    return { url: this.postUrl, fields: { ...fields, key: request.key, Policy: encodedPolicy, 'X-Amz-Signature': toHex(signature) } };
  }

  /**
   * Throws unless this floor's form and `broker`'s for the same request and instant are identical:
   * the action URL, every field name in the same order, every value (the Policy's base64 byte for
   * byte, the signature). The message names what differs without printing the session token.
   */
  async assertSameForm(request: PostFormRequest, broker: (request: PostFormRequest) => Promise<PostForm>, what: string): Promise<void> {
    // Milliseconds kept: X-Amz-Date and the policy's expiration must both drop them the same way.
    const fixed = { ...request, signingDate: new Date() };
    const [ours, sdk] = await Promise.all([broker(fixed), this.presignPost(fixed)]);
    const problems: string[] = [];
    if (ours.url !== sdk.url) problems.push(`action URL: broker ${ours.url}, sdk ${sdk.url}`);
    const names = (form: PostForm) => Object.keys(form.fields).join(', ');
    if (names(ours) !== names(sdk)) problems.push(`field names/order: broker [${names(ours)}], sdk [${names(sdk)}]`);
    const token = this.credentials.sessionToken;
    const redact = (text: string) => (token ? text.split(token).join('<session token>') : text);
    for (const name of new Set([...Object.keys(ours.fields), ...Object.keys(sdk.fields)])) {
      const [a, b] = [ours.fields[name], sdk.fields[name]];
      if (a === b) continue;
      if (name === 'Policy') {
        const decode = (policy: string | undefined) => (policy === undefined ? '(none)' : redact(Buffer.from(policy, 'base64').toString('utf8')));
        problems.push(`Policy differs:\n    broker ${decode(a)}\n    sdk    ${decode(b)}`);
      } else if (name === 'X-Amz-Security-Token' || name === 'X-Amz-Signature') {
        problems.push(`${name} differs`);
      } else {
        problems.push(`${name}: broker ${a === undefined ? '(none)' : JSON.stringify(redact(a))}, sdk ${b === undefined ? '(none)' : JSON.stringify(redact(b))}`);
      }
    }
    if (problems.length > 0) throw new Error(`the SDK form floor signs another POST form than the broker for ${what}:\n  ${problems.join('\n  ')}`);
  }

  /** Throws unless this floor signs byte for byte the URL `broker` signs for the same request and instant. */
  async assertSameUrl(request: Omit<PresignRequest, 'target'>, broker: (request: Omit<PresignRequest, 'target'>) => Promise<string>, what: string): Promise<void> {
    const fixed = { ...request, signingDate: new Date(Math.floor(Date.now() / 1000) * 1000) };
    const [ours, sdk] = await Promise.all([broker(fixed), this.presign(fixed)]);
    if (ours !== sdk) throw new Error(`the SDK floor signs another URL than the broker for ${what}:\n  broker ${ours}\n  sdk    ${sdk}`);
  }
}
