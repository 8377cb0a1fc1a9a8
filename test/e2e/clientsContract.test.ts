/**
 * The client package (clients/js) under an upload contract, from Node, against the real API and the real local
 * gateway: acme/contract (test/e2e/support/stack.ts) has integrity md5, the one integrity check the gateway
 * enforces. The client learns the contract from whoami, computes the body's MD5, declares it, and sends exactly
 * the signed headers the broker returned: a correct body is stored byte for byte (single PUT and multipart); a body
 * changed after hashing is refused by the gateway with 400 BadDigest and nothing is stored. The fetch-only
 * examples (examples/putUpload.ts, examples/multipartUpload.ts) do the same with `integrity: 'md5'`.
 */
import { beforeAll, describe, expect, test } from '@jest/globals';
import { createBrokerClient, S3UploadError, type FetchLike } from '../../clients/js/src/index.js';
import { uploadMultipart as exampleMultipart } from '../../examples/multipartUpload.js';
import { PutUploadError, uploadWithPresignedPut } from '../../examples/putUpload.js';
import { get, ownerSees, randomBinary, s3WithVended, unique, vend } from './support/helpers.js';
import { readStack, type StackState } from './support/stack.js';

const TIMEOUT = 120_000;
const TYPE = 'application/octet-stream';
const MiB = 1024 ** 2;

let stack: StackState;

beforeAll(() => {
  stack = readStack();
});

/** A fetch that flips one byte of each body sent to S3 (after the client hashed it): what a corrupted transfer looks like. */
const corrupting: FetchLike & typeof fetch = async (input: string | URL | Request, init?: RequestInit) => {
  input = String(input);
  const body = init?.body instanceof Blob ? new Uint8Array(await init.body.arrayBuffer()) : init?.body;
  if (!input.startsWith(stack.url) && body instanceof Uint8Array) {
    const changed = new Uint8Array(body);
    changed[0] = changed[0]! ^ 0xff;
    return fetch(input, { ...init, body: changed });
  }
  return fetch(input, init);
};

/** The stored bytes, read back through credentials the broker vends to the contract client. */
async function storedBytes(fullKey: string): Promise<Buffer | undefined> {
  const vended = await vend(stack, stack.keys.acme.contract, { actions: ['read'] });
  const res = await get(s3WithVended(stack, vended.credentials), stack.bucket, fullKey);
  return res.status === 200 ? res.body : undefined;
}

describe('clients/js under an md5 contract, against the local gateway', () => {
  test('single PUT: the client computes Content-MD5 from whoami\'s contract, the object is stored exactly', async () => {
    const client = createBrokerClient({ url: stack.url, auth: { apiKey: stack.keys.acme.contract } });
    const bytes = randomBinary(4096);
    const result = await client.upload(bytes, { key: unique(stack, 'client-md5.bin'), contentType: TYPE });
    expect(await storedBytes(result.key)).toEqual(bytes);
  }, TIMEOUT);

  test('single PUT: a body changed after hashing is refused with 400 BadDigest, and nothing is stored', async () => {
    const client = createBrokerClient({ url: stack.url, auth: { apiKey: stack.keys.acme.contract }, fetch: corrupting, retries: 0 });
    const key = unique(stack, 'client-md5-changed.bin');
    const error = await client.upload(randomBinary(4096), { key, contentType: TYPE }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(S3UploadError);
    expect({ status: (error as S3UploadError).status, code: (error as S3UploadError).code }).toEqual({ status: 400, code: 'BadDigest' });
    expect(await ownerSees(stack, stack.bucket, `acme-contract/${key}`)).toBe(false);
  }, TIMEOUT);

  test('multipart: each part\'s MD5 is declared and sent; the assembled object is stored exactly', async () => {
    const client = createBrokerClient({ url: stack.url, auth: { apiKey: stack.keys.acme.contract }, integrity: 'md5' });
    const bytes = randomBinary(5 * MiB + 1234);
    const result = await client.uploadMultipart(new Blob([bytes]), { key: unique(stack, 'client-md5-multi.bin'), contentType: TYPE, partSize: 5 * MiB });
    expect(result.state.parts.map((p) => p.partNumber)).toEqual([1, 2]);
    expect(await storedBytes(result.key)).toEqual(bytes);
  }, TIMEOUT);
});

describe('the fetch-only examples under the md5 contract', () => {
  const broker = () => ({ url: stack.url, headers: { 'X-Api-Key': stack.keys.acme.contract } });

  test('examples/putUpload.ts: stored exactly; a changed body is 400 BadDigest', async () => {
    const bytes = randomBinary(2048);
    const done = await uploadWithPresignedPut({ broker: broker(), key: unique(stack, 'example-put.bin'), contentType: TYPE, data: new Blob([bytes]), integrity: 'md5' });
    expect(await storedBytes(done.key)).toEqual(bytes);

    const key = unique(stack, 'example-put-changed.bin');
    const error = await uploadWithPresignedPut({ broker: broker(), key, contentType: TYPE, data: new Blob([bytes]), integrity: 'md5', fetch: corrupting }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PutUploadError);
    expect({ status: (error as PutUploadError).status, code: (error as PutUploadError).code }).toEqual({ status: 400, code: 'BadDigest' });
    expect(await ownerSees(stack, stack.bucket, `acme-contract/${key}`)).toBe(false);
  }, TIMEOUT);

  test('examples/multipartUpload.ts: part checksums declared, the object stored exactly', async () => {
    const bytes = randomBinary(64 * 1024);
    const done = await exampleMultipart({ broker: broker(), key: unique(stack, 'example-multi.bin'), contentType: TYPE, data: new Blob([bytes]), integrity: 'md5' });
    expect(await storedBytes(done.key)).toEqual(bytes);
  }, TIMEOUT);
});
