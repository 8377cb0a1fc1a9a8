/**
 * One presigned PUT through sts-broker with nothing but `fetch` (browsers, Node ≥ 20): ask POST /v1/uploads for a
 * URL signed for this exact size (and, under an upload contract with integrity, this exact checksum), then PUT the
 * bytes with EXACTLY the headers the broker returned: every one is signed, and S3 refuses the upload (403) when one
 * is missing or changed. A browser sets Content-Length itself from the body and ignores the one given here.
 *
 *   const who = await (await fetch(`${url}/v1/whoami`, { headers })).json();
 *   const integrity = who.grant.upload?.integrity;   // md5 | sha256 | crc32c | none; absent: no contract
 *   await uploadWithPresignedPut({ broker: { url, headers }, key: 'a.bin', contentType: 'application/octet-stream',
 *     data: file, ...(integrity === 'md5' || integrity === 'sha256' ? { integrity } : {}) });
 *
 * Under `integrity: md5` a body that differs from the hashed one is refused by S3 with 400 BadDigest (proven
 * against the local gateway by test/e2e/clientsContract.test.ts). Browsers: use a sha256 contract (examples/checksum.ts).
 */
import { checksumOf, type Integrity } from './checksum.js';

export interface PutUploadOptions {
  /** Where the broker is and how to authenticate: `{ 'X-Api-Key': key }` or `{ Authorization: 'Bearer <jwt>' }`. */
  broker: { url: string; headers: Record<string, string> };
  /** Key relative to the grant's prefix. */
  key: string;
  contentType: string;
  data: Blob;
  /** The grant's upload contract integrity (whoami `grant.upload.integrity`), when it is md5 or sha256. */
  integrity?: Integrity;
  fetch?: typeof fetch;
}

/** The broker or S3 refused: the HTTP status and the error code (broker: `invalid_request`…; S3: `BadDigest`…). */
export class PutUploadError extends Error {
  constructor(readonly status: number, readonly code: string | undefined, message: string) {
    super(message);
    this.name = 'PutUploadError';
  }
}

/** Presigns and uploads; resolves with the full key and S3's ETag once S3 stored the object. */
export async function uploadWithPresignedPut(options: PutUploadOptions): Promise<{ key: string; etag: string | null }> {
  const doFetch = options.fetch ?? fetch;
  const checksum = options.integrity ? { algorithm: options.integrity, value: await checksumOf(options.integrity, options.data) } : undefined;
  const presign = () => doFetch(`${options.broker.url.replace(/\/+$/, '')}/v1/uploads`, {
    method: 'POST',
    headers: { ...options.broker.headers, 'content-type': 'application/json' },
    body: JSON.stringify({ method: 'PUT', key: options.key, contentType: options.contentType, contentLength: options.data.size, ...(checksum ? { checksum } : {}) }),
  });
  // presigning changes nothing, so a network failure (say a kept-alive connection the server had already closed:
  // fetch then fails with "other side closed") is retried once
  const res = await presign().catch(async (error: unknown) => {
    // by name, not instanceof: the TypeError may come from another realm (a test runner's sandbox, an iframe)
    if ((error as { name?: unknown } | null)?.name !== 'TypeError') throw error;
    return presign();
  });
  const presigned = await res.json() as { url: string; key: string; headers: Record<string, string>; error?: { code: string; message: string } };
  if (res.status !== 200) throw new PutUploadError(res.status, presigned.error?.code, `the broker refused: ${presigned.error?.message ?? res.status}`);

  const put = await doFetch(presigned.url, { method: 'PUT', headers: presigned.headers, body: options.data });
  const text = await put.text();
  if (!put.ok) {
    const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1];
    throw new PutUploadError(put.status, code, `S3 refused the upload: HTTP ${put.status}${code ? ` ${code}` : ''}`);
  }
  return { key: presigned.key, etag: put.headers.get('etag') };
}
