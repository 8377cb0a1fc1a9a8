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
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { formatUrl, greedyLabel, type PresignRequest } from '../../src/adapters/aws/sigv4Presign.js';
import type { TemporaryCredentials } from '../../src/domain/model.js';

const METHOD = { PutObject: 'PUT', UploadPart: 'PUT', GetObject: 'GET' } as const;

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

  constructor(credentials: TemporaryCredentials, private readonly bucket: string, private readonly region: string) {
    this.signer = new SignatureV4({
      credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey, sessionToken: credentials.sessionToken, expiration: credentials.expiration },
      region, service: 's3', sha256: NodeSha256, uriEscapePath: false, applyChecksum: false,
    });
    this.host = `${bucket}.s3.${region}.amazonaws.com`;
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

  /** Throws unless this floor signs byte for byte the URL `broker` signs for the same request and instant. */
  async assertSameUrl(request: Omit<PresignRequest, 'target'>, broker: (request: Omit<PresignRequest, 'target'>) => Promise<string>, what: string): Promise<void> {
    const fixed = { ...request, signingDate: new Date(Math.floor(Date.now() / 1000) * 1000) };
    const [ours, sdk] = await Promise.all([broker(fixed), this.presign(fixed)]);
    if (ours !== sdk) throw new Error(`the SDK floor signs another URL than the broker for ${what}:\n  broker ${ours}\n  sdk    ${sdk}`);
  }
}
