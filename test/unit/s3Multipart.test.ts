/**
 * S3MultipartStore: the exact command input each S3 call receives (aws-sdk-client-mock), the
 * ListParts pagination, the client each call is made with, and how S3's failures map to the
 * broker's errors; then the real SDK against a loopback server for the wire-level failures
 * (a refused connection, a silent server, S3's XML error bodies).
 */
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, ListPartsCommand, S3Client, S3ServiceException,
} from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { createHash } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type TestServer } from '../support/loopbackServer.js';
import { mapS3Error, multipartEtag, S3MultipartStore } from '../../src/adapters/aws/s3Multipart.js';
import {
  S3AccessDeniedError, S3UnavailableError, S3UpstreamError, UploadMismatchError, UploadNotFoundError,
} from '../../src/domain/errors.js';
import type { MultipartCall, S3Target, TemporaryCredentials } from '../../src/domain/model.js';

const credentials: TemporaryCredentials = {
  accessKeyId: 'ASIAEXAMPLESESSION', secretAccessKey: 'session-secret', sessionToken: 'session-token', expiration: new Date('2030-01-01T00:00:00Z'),
};
const local: S3Target = { bucket: 'partner-bucket', region: 'ap-northeast-1', endpoint: 'http://127.0.0.1:7480', forcePathStyle: true };
const call = (target: S3Target = local): MultipartCall => ({ credentials, target, key: 'acme/big.bin' });

function serviceError(name: string, status: number): S3ServiceException {
  return new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message: `${name} from S3` });
}

describe('S3MultipartStore (mocked SDK): exact command inputs', () => {
  const s3 = mockClient(S3Client);
  beforeEach(() => { s3.reset(); });
  afterAll(() => s3.restore());
  const store = () => new S3MultipartStore({ timeoutMs: 1000, maxAttempts: 3 });

  it('create: Bucket, Key and ContentType, with a client for the caller\'s session on the target', async () => {
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: '2~abc' });
    await expect(store().create({ ...call(), contentType: 'application/pdf' })).resolves.toEqual({ uploadId: '2~abc' });
    const [sent] = s3.commandCalls(CreateMultipartUploadCommand);
    expect(sent!.args[0].input).toStrictEqual({ Bucket: 'partner-bucket', Key: 'acme/big.bin', ContentType: 'application/pdf' });
    const client = sent!.thisValue as S3Client;
    await expect(client.config.credentials()).resolves.toMatchObject({ accessKeyId: 'ASIAEXAMPLESESSION', secretAccessKey: 'session-secret', sessionToken: 'session-token' });
    expect(client.config.forcePathStyle).toBe(true);
    expect(await client.config.region()).toBe('ap-northeast-1');
    expect(client.config.requestChecksumCalculation).toBeDefined();
    expect(await (client.config.requestChecksumCalculation as () => Promise<string>)()).toBe('WHEN_REQUIRED');
    expect(await (client.config.responseChecksumValidation as () => Promise<string>)()).toBe('WHEN_REQUIRED');
    expect(await client.config.maxAttempts()).toBe(3);
  });

  it('create without an UploadId in the answer is an upstream error', async () => {
    s3.on(CreateMultipartUploadCommand).resolves({});
    await expect(store().create({ ...call(), contentType: 'application/pdf' })).rejects.toThrow(S3UpstreamError);
  });

  it('listParts: follows NextPartNumberMarker across pages and returns the parts in order', async () => {
    s3.on(ListPartsCommand, { PartNumberMarker: undefined }).resolves({
      IsTruncated: true, NextPartNumberMarker: '2', Parts: [{ PartNumber: 1, Size: 5, ETag: '"a"' }, { PartNumber: 2, Size: 5, ETag: '"b"' }],
    });
    s3.on(ListPartsCommand, { PartNumberMarker: '2' }).resolves({ IsTruncated: false, Parts: [{ PartNumber: 3, Size: 1, ETag: '"c"' }] });
    await expect(store().listParts({ ...call(), uploadId: '2~abc' })).resolves.toEqual([
      { partNumber: 1, size: 5, etag: '"a"' }, { partNumber: 2, size: 5, etag: '"b"' }, { partNumber: 3, size: 1, etag: '"c"' },
    ]);
    expect(s3.commandCalls(ListPartsCommand).map((c) => c.args[0].input)).toStrictEqual([
      { Bucket: 'partner-bucket', Key: 'acme/big.bin', UploadId: '2~abc' },
      { Bucket: 'partner-bucket', Key: 'acme/big.bin', UploadId: '2~abc', PartNumberMarker: '2' },
    ]);
  });

  it('listParts: an empty upload has no parts; a part without its size is an upstream error', async () => {
    s3.on(ListPartsCommand).resolvesOnce({ IsTruncated: false }).resolvesOnce({ Parts: [{ PartNumber: 1, ETag: '"a"' }] });
    await expect(store().listParts({ ...call(), uploadId: '2~abc' })).resolves.toEqual([]);
    await expect(store().listParts({ ...call(), uploadId: '2~abc' })).rejects.toThrow('S3 answered ListParts with an incomplete part');
  });

  it('complete: the parts in ascending order with their ETags', async () => {
    s3.on(CompleteMultipartUploadCommand).resolves({ ETag: '"final-3"' });
    const parts = [{ partNumber: 3, etag: '"c"' }, { partNumber: 1, etag: '"a"' }, { partNumber: 2, etag: '"b"' }];
    await expect(store().complete({ ...call(), uploadId: '2~abc', parts })).resolves.toEqual({ etag: '"final-3"' });
    expect(s3.commandCalls(CompleteMultipartUploadCommand)[0]!.args[0].input).toStrictEqual({
      Bucket: 'partner-bucket', Key: 'acme/big.bin', UploadId: '2~abc',
      MultipartUpload: { Parts: [{ PartNumber: 1, ETag: '"a"' }, { PartNumber: 2, ETag: '"b"' }, { PartNumber: 3, ETag: '"c"' }] },
    });
  });

  it('complete answered without an ETag (Ceph RGW 16: <ETag></ETag>): the multipart ETag computed from the parts, not an error', async () => {
    s3.on(CompleteMultipartUploadCommand).resolves({ ETag: '' });
    const md5 = (text: string) => createHash('md5').update(text).digest();
    const parts = [{ partNumber: 1, etag: `"${md5('one').toString('hex')}"` }, { partNumber: 2, etag: `"${md5('two').toString('hex')}"` }];
    const expected = `"${createHash('md5').update(Buffer.concat([md5('one'), md5('two')])).digest('hex')}-2"`;
    await expect(store().complete({ ...call(), uploadId: '2~abc', parts })).resolves.toEqual({ etag: expected });
    expect(multipartEtag(parts.map((p) => p.etag))).toBe(expected);
    // no rule applies to ETags that are not plain MD5s (SSE-KMS, SSE-C)
    expect(multipartEtag(['"not-an-md5"'])).toBe('');
    expect(multipartEtag([])).toBe('');
  });

  it('abort: Bucket, Key and UploadId', async () => {
    s3.on(AbortMultipartUploadCommand).resolves({});
    await expect(store().abort({ ...call(), uploadId: '2~abc' })).resolves.toBeUndefined();
    expect(s3.commandCalls(AbortMultipartUploadCommand)[0]!.args[0].input).toStrictEqual({ Bucket: 'partner-bucket', Key: 'acme/big.bin', UploadId: '2~abc' });
  });

  it('uses virtual-hosted style with no endpoint on real S3', async () => {
    s3.on(AbortMultipartUploadCommand).resolves({});
    await store().abort({ ...call({ bucket: 'partner-bucket', region: 'eu-west-1', forcePathStyle: false }), uploadId: '2~abc' });
    const client = s3.commandCalls(AbortMultipartUploadCommand)[0]!.thisValue as S3Client;
    expect(client.config.forcePathStyle).toBe(false);
    expect(client.config.endpoint).toBeUndefined();
  });

  it.each([
    ['NoSuchUpload', 404, UploadNotFoundError, 'no such multipart upload for this key: it was never created, or was completed, aborted or expired'],
    ['AccessDenied', 403, S3AccessDeniedError, 'S3 denied AbortMultipartUpload for this key: the partner\'s role or bucket policy does not allow it'],
    ['InvalidPart', 400, UploadMismatchError, 'S3 refused the part list (InvalidPart): upload the listed parts again and retry'],
    ['SlowDown', 503, S3UnavailableError, 'S3 is unavailable for AbortMultipartUpload'],
    ['InternalError', 500, S3UnavailableError, 'S3 is unavailable for AbortMultipartUpload'],
    ['ExpiredToken', 400, S3UpstreamError, 'S3 refused the signing session for AbortMultipartUpload (ExpiredToken)'],
    ['NoSuchBucket', 404, S3UpstreamError, 'S3 rejected AbortMultipartUpload (NoSuchBucket)'],
  ])('maps %s (%i) to %p', async (name, status, errorClass, message) => {
    s3.on(AbortMultipartUploadCommand).rejects(serviceError(name, status));
    const failure = store().abort({ ...call(), uploadId: '2~abc' });
    await expect(failure).rejects.toBeInstanceOf(errorClass);
    await expect(failure).rejects.toThrow(message);
  });

  it.each([
    ['listParts', ListPartsCommand, (s: S3MultipartStore) => s.listParts({ ...call(), uploadId: '2~gone' })],
    ['complete', CompleteMultipartUploadCommand, (s: S3MultipartStore) => s.complete({ ...call(), uploadId: '2~gone', parts: [{ partNumber: 1, etag: '"a"' }] })],
    ['abort', AbortMultipartUploadCommand, (s: S3MultipartStore) => s.abort({ ...call(), uploadId: '2~gone' })],
  ] as const)('%s: the local gateway\'s NoSuchKey (404) for an unknown or aborted upload is upload_not_found, like AWS\'s NoSuchUpload', async (_op, command, run) => {
    s3.on(command as typeof ListPartsCommand).rejects(serviceError('NoSuchKey', 404));
    const failure = run(store());
    await expect(failure).rejects.toBeInstanceOf(UploadNotFoundError);
    await expect(failure).rejects.toThrow('no such multipart upload for this key: it was never created, or was completed, aborted or expired');
  });

  it('maps NoSuchKey to upload_not_found only on the operations on an existing upload', () => {
    for (const op of ['ListParts', 'CompleteMultipartUpload', 'AbortMultipartUpload']) {
      expect(mapS3Error(serviceError('NoSuchKey', 404), op)).toBeInstanceOf(UploadNotFoundError);
      expect(mapS3Error(serviceError('NoSuchUpload', 404), op)).toBeInstanceOf(UploadNotFoundError);
    }
    const create = mapS3Error(serviceError('NoSuchKey', 404), 'CreateMultipartUpload');
    expect(create).toBeInstanceOf(S3UpstreamError);
    expect(create.message).toBe('S3 rejected CreateMultipartUpload (NoSuchKey)');
  });

  it('keeps the SDK error as the cause, out of the message', () => {
    const cause = serviceError('AccessDenied', 403);
    const mapped = mapS3Error(cause, 'ListParts');
    expect(mapped.cause).toBe(cause);
    expect(mapped.message).not.toContain('from S3');
  });
});

describe('S3MultipartStore over HTTP (real SDK, loopback server)', () => {
  let server: TestServer;
  let endpoint: string;
  let respond: (res: ServerResponse) => void;
  let hits = 0;

  beforeAll(async () => {
    server = await serve((req, res) => {
      hits += 1;
      req.resume();
      req.on('end', () => respond(res));
    });
    endpoint = server.url;
  });
  afterEach(() => { hits = 0; });
  afterAll(() => server.close());

  const target = (): S3Target => ({ bucket: 'partner-bucket', region: 'ap-northeast-1', endpoint, forcePathStyle: true });
  const xmlError = (status: number, code: string) => (res: ServerResponse) => {
    res.writeHead(status, { 'content-type': 'application/xml' });
    res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>m</Message><RequestId>r</RequestId></Error>`);
  };

  it('NoSuchUpload from the wire → upload_not_found, without retrying', async () => {
    respond = xmlError(404, 'NoSuchUpload');
    const store = new S3MultipartStore({ timeoutMs: 2000, maxAttempts: 3 });
    await expect(store.listParts({ credentials, target: target(), key: 'acme/x', uploadId: '2~x' })).rejects.toThrow(UploadNotFoundError);
    expect(hits).toBe(1);
  });

  it('NoSuchKey from the wire (what Ceph RGW answers for an aborted upload) → upload_not_found on ListParts, without retrying', async () => {
    respond = xmlError(404, 'NoSuchKey');
    const store = new S3MultipartStore({ timeoutMs: 2000, maxAttempts: 3 });
    await expect(store.listParts({ credentials, target: target(), key: 'acme/x', uploadId: '2~x' })).rejects.toThrow(UploadNotFoundError);
    expect(hits).toBe(1);
  });

  it('AccessDenied from the wire → s3_access_denied', async () => {
    respond = xmlError(403, 'AccessDenied');
    const store = new S3MultipartStore({ timeoutMs: 2000, maxAttempts: 1 });
    await expect(store.abort({ credentials, target: target(), key: 'acme/x', uploadId: '2~x' })).rejects.toThrow(S3AccessDeniedError);
  });

  it('503 SlowDown, retried up to maxAttempts → s3_unavailable with Retry-After', async () => {
    respond = xmlError(503, 'SlowDown');
    const store = new S3MultipartStore({ timeoutMs: 2000, maxAttempts: 2 });
    const error = await store.create({ credentials, target: target(), key: 'acme/x', contentType: 'text/plain' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(S3UnavailableError);
    expect((error as S3UnavailableError).retryAfterSeconds).toBe(2);
    expect(hits).toBe(2);
  });

  it('a silent server → s3_unavailable within the timeout', async () => {
    respond = () => { /* never answers */ };
    const store = new S3MultipartStore({ timeoutMs: 300, maxAttempts: 1 });
    const started = Date.now();
    await expect(store.abort({ credentials, target: target(), key: 'acme/x', uploadId: '2~x' })).rejects.toThrow(S3UnavailableError);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('a refused connection → s3_unavailable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const store = new S3MultipartStore({ timeoutMs: 1000, maxAttempts: 1 });
    await expect(store.abort({ credentials, target: { ...target(), endpoint: `http://127.0.0.1:${port}` }, key: 'acme/x', uploadId: '2~x' }))
      .rejects.toThrow(S3UnavailableError);
  });
});

describe('S3MultipartStore options', () => {
  it.each([
    [{ timeoutMs: 0, maxAttempts: 1 }, 'timeoutMs must be a positive integer'],
    [{ timeoutMs: 100, maxAttempts: 0 }, 'maxAttempts must be an integer ≥ 1'],
  ])('refuses %j', (options, message) => {
    expect(() => new S3MultipartStore(options)).toThrow(message);
  });
});
