/**
 * The checksum an upload contract asks for (whoami: `grant.upload.integrity`), as S3 spells it: base64 of the
 * digest of the exact bytes. sha256 through Web Crypto (browsers and Node ≥ 20 alike); md5 through node:crypto,
 * Node only: Web Crypto has no MD5 (nor CRC32C, nor streaming), so browser clients need `integrity: sha256`.
 * (The client package, clients/js, also computes crc32c and streams large files.)
 */

export type Integrity = 'md5' | 'sha256';

export async function checksumOf(algorithm: Integrity, data: Blob): Promise<string> {
  const bytes = new Uint8Array(await data.arrayBuffer());
  if (algorithm === 'sha256') return toBase64(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)));
  let nodeCrypto: { createHash(algorithm: string): { update(data: Uint8Array): { digest(): Uint8Array } } };
  try {
    const specifier = 'node:crypto'; // not a literal: browser bundlers must not try to resolve it
    nodeCrypto = await import(/* @vite-ignore */ specifier);
  } catch {
    throw new Error('md5 needs Node: browsers have no MD5 (Web Crypto offers SHA-256 only); give browser clients integrity: sha256');
  }
  return toBase64(nodeCrypto.createHash('md5').update(bytes).digest());
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}
