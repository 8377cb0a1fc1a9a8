import { ChecksumUnavailableError } from './errors.js';
import type { UploadBody } from './s3.js';

/** The checksum algorithms an upload contract can require (whoami: `grant.upload.integrity`). */
export type ChecksumAlgorithm = 'md5' | 'sha256' | 'crc32c';
/** What the client is told to do: an algorithm, or `none` (no checksum is computed or sent). */
export type IntegrityOption = ChecksumAlgorithm | 'none';

export const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = ['md5', 'sha256', 'crc32c'];

/** The few members of node:crypto's Hash used here (typed locally: the package's build has no Node typings). */
interface NodeHash {
  update(data: Uint8Array): NodeHash;
  digest(): Uint8Array;
}
interface NodeCrypto {
  createHash(algorithm: string): NodeHash;
}

let nodeCrypto: Promise<NodeCrypto> | undefined;

function loadNodeCrypto(): Promise<NodeCrypto> {
  // A non-literal specifier so browser bundlers do not try to resolve node:crypto; only reached outside browsers.
  const specifier = 'node:crypto';
  nodeCrypto ??= import(/* webpackIgnore: true */ /* @vite-ignore */ specifier) as Promise<NodeCrypto>;
  return nodeCrypto;
}

/** Feeds the body to `update` chunk by chunk (a Blob is streamed, never read whole). */
async function feed(body: UploadBody, update: (chunk: Uint8Array) => void): Promise<void> {
  if (body instanceof Uint8Array) {
    update(body);
    return;
  }
  const reader = body.stream().getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    update(value);
  }
}

// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the variant S3's x-amz-checksum-crc32c carries.
let crcTable: Uint32Array | undefined;
function crc32cTable(): Uint32Array {
  if (crcTable) return crcTable;
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[n] = c >>> 0;
  }
  crcTable = table;
  return table;
}

/** A streaming CRC32C in plain JavaScript (no runtime dependency, works in browsers too). */
export function crc32c(): { update(chunk: Uint8Array): void; digest(): Uint8Array } {
  const table = crc32cTable();
  let crc = 0xffffffff;
  return {
    update(chunk) {
      let c = crc;
      for (let i = 0; i < chunk.length; i++) c = table[(c ^ chunk[i]!) & 0xff]! ^ (c >>> 8);
      crc = c;
    },
    digest() {
      const value = (crc ^ 0xffffffff) >>> 0;
      // big-endian, as S3 encodes it before base64
      return new Uint8Array([value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff]);
    },
  };
}

export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/**
 * The base64 digest of the exact bytes, as S3's Content-MD5 / x-amz-checksum-* headers carry it.
 *
 * Outside browsers: md5 and sha256 through node:crypto (streamed). In browsers: sha256 through Web Crypto (which
 * has no MD5 and no streaming, so the body is read into memory: per part for multipart); md5 is refused with a
 * ChecksumUnavailableError. crc32c is plain JavaScript everywhere.
 */
export async function computeChecksum(algorithm: ChecksumAlgorithm, body: UploadBody, browser: boolean): Promise<string> {
  if (algorithm === 'crc32c') {
    const crc = crc32c();
    await feed(body, (chunk) => crc.update(chunk));
    return toBase64(crc.digest());
  }
  if (!browser) {
    const hash = (await loadNodeCrypto()).createHash(algorithm);
    await feed(body, (chunk) => hash.update(chunk));
    return toBase64(hash.digest());
  }
  if (algorithm === 'md5') {
    throw new ChecksumUnavailableError(
      'md5',
      'the upload contract requires md5, which browsers cannot compute (Web Crypto has no MD5): '
      + 'configure the client\'s contract with integrity: sha256 for browser clients',
    );
  }
  // typed locally: the few members used, so the file also compiles without the DOM library
  const subtle = (globalThis as { crypto?: { subtle?: { digest(algorithm: string, data: Uint8Array): Promise<ArrayBuffer> } } }).crypto?.subtle;
  if (!subtle) {
    throw new ChecksumUnavailableError(
      'sha256',
      'the upload contract requires sha256 but Web Crypto (crypto.subtle) is unavailable here: '
      + 'browsers offer it only on secure (https or localhost) pages',
    );
  }
  const data = body instanceof Uint8Array ? body : new Uint8Array(await body.arrayBuffer());
  return toBase64(new Uint8Array(await subtle.digest('SHA-256', data)));
}

export function isIntegrityOption(value: unknown): value is IntegrityOption {
  return value === 'none' || (CHECKSUM_ALGORITHMS as readonly unknown[]).includes(value);
}
