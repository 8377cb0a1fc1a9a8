// A loopback imitation of the broker (the v1 routes the client uses) and of S3 (presigned PUT, form POST, part PUT,
// GET), on one node:http server on 127.0.0.1 and a random port. Tests replace any broker route with `override`.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { crc32c, toBase64 } from '../../src/checksum.js';

export interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: Buffer;
  json?: any;
  at: number;
}

export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  json?: unknown;
  text?: string;
}

export type Handler = (req: Recorded, fake: FakeBroker) => Reply | undefined | Promise<Reply | undefined>;

export interface Upload {
  key: string;
  contentType: string;
  contentLength: number;
  partSize: number;
  parts: Map<number, { etag: string; size: number; checksum?: string }>;
  completed: boolean;
  aborted: boolean;
}

export class FakeBroker {
  url = '';
  readonly requests: Recorded[] = [];
  readonly s3Requests: Recorded[] = [];
  readonly overrides = new Map<string, Handler>();
  readonly uploads = new Map<string, Upload>();
  readonly objects = new Map<string, { body: Buffer; contentType: string }>();
  /** Delay of each S3 part PUT answer (ms). */
  partDelayMs = 0;
  /** Called for each S3 part PUT before it is answered; a Reply replaces the normal answer. */
  partHook: ((partNumber: number, req: Recorded) => Reply | undefined) | undefined;
  currentPartPuts = 0;
  /** Part PUTs that reached the server (counted on arrival, before their body is read). */
  partPutsStarted = 0;
  maxConcurrentPartPuts = 0;
  readonly grantPrefix = 'partner/client/';
  /**
   * An upload contract's integrity, as the broker would have it: whoami shows it; presigning then requires the
   * checksum (400 without, or with another algorithm) and signs it as a header; the imitation of S3 refuses a PUT
   * whose header differs from the signed value (403) or whose body has another digest (400 BadDigest), as S3 does.
   */
  integrity: 'md5' | 'sha256' | 'crc32c' | undefined;
  private server: Server | undefined;
  private nextId = 1;

  /** Broker requests to a path (e.g. '/v1/uploads/multipart/parts'). */
  calls(path: string): Recorded[] {
    return this.requests.filter((r) => r.path === path);
  }

  partPuts(): Recorded[] {
    return this.s3Requests.filter((r) => r.path === '/s3/part' && r.method === 'PUT');
  }

  override(route: string, handler: Handler): void {
    this.overrides.set(route, handler);
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error) => {
        res.statusCode = 500;
        res.end(String(error));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    return this;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    const isPart = u.pathname === '/s3/part' && req.method === 'PUT';
    if (isPart) {
      this.currentPartPuts++;
      this.partPutsStarted++;
      this.maxConcurrentPartPuts = Math.max(this.maxConcurrentPartPuts, this.currentPartPuts);
    }
    let body: Buffer;
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      body = Buffer.concat(chunks);
    } catch {
      if (isPart) this.currentPartPuts--;
      return; // the client went away (aborted)
    }
    const rec: Recorded = { method: req.method ?? 'GET', path: u.pathname, query: u.searchParams, headers: req.headers, body, at: Date.now() };
    if (u.pathname.startsWith('/s3/')) {
      this.s3Requests.push(rec);
      try {
        const reply = await this.s3(rec);
        send(res, reply);
      } finally {
        if (isPart) this.currentPartPuts--;
      }
      return;
    }
    this.requests.push(rec);
    if (body.length > 0) {
      try {
        rec.json = JSON.parse(body.toString('utf8'));
      } catch {
        rec.json = undefined;
      }
    }
    const route = `${rec.method} ${rec.path}`;
    const override = this.overrides.get(route);
    const reply = (override ? await override(rec, this) : undefined) ?? this.route(rec);
    const requestId = `req-${this.requests.length}`;
    send(res, { ...reply, headers: { 'x-request-id': requestId, ...(reply.headers ?? {}) } });
  }

  private auth(rec: Recorded): Reply | undefined {
    if (rec.headers['x-api-key'] === 'sbk_test_secret' || rec.headers.authorization === 'Bearer good-token') return undefined;
    return errorReply(401, 'unauthenticated', 'missing credentials');
  }

  private route(rec: Recorded): Reply {
    const route = `${rec.method} ${rec.path}`;
    if (route === 'GET /health') return { json: { status: 'ok', version: '0.1.0', configHash: 'abc' } };
    const denied = this.auth(rec);
    if (denied) return denied;
    const b = rec.json ?? {};
    switch (route) {
      case 'GET /v1/whoami':
        return {
          json: {
            partner: 'partner', client: 'client', method: 'api-key', subject: 'client', subjectSegment: 'client',
            grant: {
              bucket: 'bucket', region: 'eu-west-1', prefix: this.grantPrefix, actions: ['read', 'write', 'list'],
              maxUploadBytes: 1e9, contentTypes: ['application/octet-stream'], maxDurationSeconds: 3600, rawWriteCredentials: false,
              ...(this.integrity === undefined ? {} : { upload: { integrity: this.integrity, overwrite: true, tags: {}, metadata: { client: 'client' } } }),
            },
          },
        };
      case 'POST /v1/credentials':
        if (b.actions?.includes('write')) return errorReply(403, 'outside_grant', 'write needs rawWriteCredentials');
        return {
          json: {
            credentials: { accessKeyId: 'ASIA1', secretAccessKey: 'secret', sessionToken: 'token', expiration: new Date(Date.now() + 900_000).toISOString() },
            bucket: 'bucket', region: 'eu-west-1', prefix: this.grantPrefix, actions: b.actions ?? ['read', 'list'], sessionName: 's',
          },
        };
      case 'POST /v1/uploads': {
        const key = this.grantPrefix + b.key;
        const refused = this.checksumRefusal(b.checksum === undefined ? undefined : [b.checksum?.algorithm, b.checksum?.value], 'checksum');
        if (refused) return refused;
        const signed = b.checksum === undefined ? {} : { [CHECKSUM_HEADER[this.integrity!]]: b.checksum.value };
        const expiresAt = new Date(Date.now() + 300_000).toISOString();
        if (b.method === 'PUT') {
          return {
            json: {
              method: 'PUT', url: `${this.url}/s3/object?key=${encodeURIComponent(key)}${signedQuery(signed)}&X-Amz-Signature=x`,
              headers: { 'Content-Type': b.contentType, 'Content-Length': String(b.contentLength), 'x-amz-meta-client': 'client', ...signed }, key, relativeKey: b.key, expiresAt,
            },
          };
        }
        return {
          json: {
            method: 'POST', url: `${this.url}/s3/form`, key, relativeKey: b.key, maxBytes: 1000, expiresAt,
            fields: { key, 'Content-Type': b.contentType, ...signed, Policy: 'cG9saWN5', 'X-Amz-Signature': 'sig' },
          },
        };
      }
      case 'POST /v1/downloads': {
        const key = this.grantPrefix + b.key;
        return { json: { url: `${this.url}/s3/object?key=${encodeURIComponent(key)}&filename=${encodeURIComponent(b.filename ?? '')}`, key, expiresAt: new Date(Date.now() + 300_000).toISOString() } };
      }
      case 'POST /v1/uploads/multipart': {
        const uploadId = `up-${this.nextId++}`;
        const partSize = b.partSize ?? 5 * 1024 * 1024;
        this.uploads.set(uploadId, { key: b.key, contentType: b.contentType, contentLength: b.contentLength, partSize, parts: new Map(), completed: false, aborted: false });
        return { json: { uploadId, key: this.grantPrefix + b.key, relativeKey: b.key, partSize, partCount: Math.ceil(b.contentLength / partSize) } };
      }
      case 'POST /v1/uploads/multipart/parts': {
        const up = this.openUpload(b);
        if (!up) return errorReply(404, 'upload_not_found', 'no such upload');
        const partCount = Math.ceil(up.contentLength / up.partSize);
        if (b.partNumbers.length > 100 || b.partNumbers.some((n: number) => n > partCount)) return errorReply(400, 'invalid_request', 'bad part numbers');
        if (b.checksums !== undefined && (!Array.isArray(b.checksums) || b.checksums.length !== b.partNumbers.length)) {
          return errorReply(400, 'invalid_request', 'checksums: one per partNumbers entry');
        }
        for (let i = 0; i < b.partNumbers.length; i++) {
          const refused = this.checksumRefusal(b.checksums === undefined ? undefined : [this.integrity, b.checksums[i]], `checksums[${i}]`);
          if (refused) return refused;
        }
        return {
          json: {
            parts: b.partNumbers.map((n: number, i: number) => ({
              partNumber: n,
              url: `${this.url}/s3/part?uploadId=${b.uploadId}&partNumber=${n}${signedQuery(b.checksums === undefined ? {} : { [CHECKSUM_HEADER[this.integrity!]]: b.checksums[i] })}`,
              headers: {
                'Content-Length': String(n < partCount ? up.partSize : up.contentLength - up.partSize * (partCount - 1)),
                ...(b.checksums === undefined ? {} : { [CHECKSUM_HEADER[this.integrity!]]: b.checksums[i] }),
              },
              expiresAt: new Date(Date.now() + 300_000).toISOString(),
            })),
          },
        };
      }
      case 'POST /v1/uploads/multipart/list': {
        const up = this.openUpload(b);
        if (!up) return errorReply(404, 'upload_not_found', 'no such upload');
        const parts = [...up.parts.entries()].sort((x, y) => x[0] - y[0]).map(([partNumber, p]) => ({ partNumber, size: p.size, etag: p.etag }));
        return { json: { parts } };
      }
      case 'POST /v1/uploads/multipart/complete': {
        const up = this.openUpload(b);
        if (!up) return errorReply(404, 'upload_not_found', 'no such upload');
        const partCount = Math.ceil(up.contentLength / up.partSize);
        const sent = new Map<number, string>(b.parts.map((p: any) => [p.partNumber, p.etag]));
        for (let n = 1; n <= partCount; n++) {
          if (!up.parts.has(n) || sent.get(n) !== up.parts.get(n)!.etag) return errorReply(400, 'upload_mismatch', `part ${n} differs`);
        }
        // as the broker: S3 records sha256/crc32c part checksums; one sent on complete must equal the recorded one
        for (const p of b.parts as Array<{ partNumber: number; checksum?: string }>) {
          if (p.checksum === undefined) continue;
          if (this.integrity !== 'sha256' && this.integrity !== 'crc32c') return errorReply(400, 'invalid_request', 'parts[].checksum without a sha256/crc32c contract');
          if (up.parts.get(p.partNumber)!.checksum !== p.checksum) return errorReply(400, 'upload_mismatch', `part ${p.partNumber}: checksum differs from the one S3 recorded`);
        }
        up.completed = true;
        return { json: { key: this.grantPrefix + up.key, relativeKey: up.key, etag: '"final-etag"' } };
      }
      case 'POST /v1/uploads/multipart/abort': {
        const up = this.openUpload(b);
        if (!up) return errorReply(404, 'upload_not_found', 'no such upload');
        up.aborted = true;
        return { json: { aborted: true } };
      }
      default:
        return { status: 404, json: { message: 'Not Found' } };
    }
  }

  /** The broker's answer to a declared checksum ([algorithm, value]) under this.integrity, or undefined when it is accepted. */
  private checksumRefusal(declared: [unknown, unknown] | undefined, field: string): Reply | undefined {
    if (this.integrity === undefined) {
      return declared === undefined ? undefined : errorReply(400, 'invalid_request', `${field}: this client has no integrity contract`);
    }
    if (declared === undefined) return errorReply(400, 'invalid_request', `${field}: the upload contract requires a ${this.integrity} checksum`);
    const [algorithm, value] = declared;
    if (algorithm !== this.integrity) return errorReply(400, 'invalid_request', `${field}: the upload contract requires ${this.integrity}`);
    if (typeof value !== 'string' || Buffer.from(value, 'base64').length !== DIGEST_BYTES[this.integrity] || Buffer.from(value, 'base64').toString('base64') !== value) {
      return errorReply(400, 'invalid_request', `${field}: not a base64 ${this.integrity} digest`);
    }
    return undefined;
  }

  /** As S3 does for a signed checksum header: 403 when the header sent differs from the signed one, 400 BadDigest when the body does not match. */
  private digestRefusal(rec: Recorded): Reply | undefined {
    for (const algorithm of ['md5', 'sha256', 'crc32c'] as const) {
      const header = CHECKSUM_HEADER[algorithm];
      const signed = rec.query.get(`signed-${header}`);
      if (signed === null) continue;
      if (rec.headers[header] !== signed) return s3Error(403, 'SignatureDoesNotMatch', `${header} differs from the signed value`);
      if (digest(algorithm, rec.body) !== signed) return s3Error(400, 'BadDigest', 'The Content-MD5 or checksum value that you specified did not match what the server received.');
    }
    return undefined;
  }

  /** The open upload a follow-up call names: by uploadId and exactly one of key (relative) and fullKey, as the broker wants. */
  private openUpload(b: { uploadId?: string; key?: string; fullKey?: string }): Upload | undefined {
    const up = this.uploads.get(b.uploadId ?? '');
    if (!up || up.completed || up.aborted) return undefined;
    if ((b.key === undefined) === (b.fullKey === undefined)) return undefined;
    const relative = b.key ?? (b.fullKey!.startsWith(this.grantPrefix) ? b.fullKey!.slice(this.grantPrefix.length) : undefined);
    return relative === up.key ? up : undefined;
  }

  private async s3(rec: Recorded): Promise<Reply> {
    if (rec.path === '/s3/part' && rec.method === 'PUT') {
      const n = Number(rec.query.get('partNumber'));
      const up = this.uploads.get(rec.query.get('uploadId') ?? '');
      if (this.partDelayMs > 0) await new Promise((r) => setTimeout(r, this.partDelayMs));
      const hooked = this.partHook?.(n, rec);
      if (hooked) return hooked;
      if (!up || up.aborted) return s3Error(404, 'NoSuchUpload', 'The specified upload does not exist.');
      if (Number(rec.headers['content-length']) !== rec.body.length) return s3Error(400, 'IncompleteBody', 'length');
      const refused = this.digestRefusal(rec);
      if (refused) return refused;
      const etag = `"etag-${n}-${rec.body.length}"`;
      const recorded = this.integrity === 'sha256' || this.integrity === 'crc32c' ? rec.headers[CHECKSUM_HEADER[this.integrity]] : undefined;
      up.parts.set(n, { etag, size: rec.body.length, ...(typeof recorded === 'string' ? { checksum: recorded } : {}) });
      return { status: 200, headers: { etag } };
    }
    if (rec.path === '/s3/object' && rec.method === 'PUT') {
      const refused = this.digestRefusal(rec);
      if (refused) return refused;
      this.objects.set(rec.query.get('key')!, { body: rec.body, contentType: String(rec.headers['content-type']) });
      return { status: 200, headers: { etag: '"object-etag"' } };
    }
    if (rec.path === '/s3/object' && rec.method === 'GET') {
      const obj = this.objects.get(rec.query.get('key')!);
      if (!obj) return s3Error(404, 'NoSuchKey', 'The specified key does not exist.');
      return { status: 200, headers: { 'content-type': obj.contentType }, text: obj.body.toString('latin1') };
    }
    if (rec.path === '/s3/form' && rec.method === 'POST') {
      return { status: 204, headers: { etag: '"form-etag"' } };
    }
    return s3Error(400, 'InvalidRequest', 'unknown');
  }
}

/** The header each algorithm's checksum travels in (lowercase, as Node gives request headers). */
export const CHECKSUM_HEADER = { md5: 'content-md5', sha256: 'x-amz-checksum-sha256', crc32c: 'x-amz-checksum-crc32c' } as const;
const DIGEST_BYTES = { md5: 16, sha256: 32, crc32c: 4 } as const;

/** The digest the imitation of S3 compares with, computed here independently of the client (crc32c excepted: Node has none). */
export function digest(algorithm: 'md5' | 'sha256' | 'crc32c', body: Uint8Array): string {
  if (algorithm !== 'crc32c') return createHash(algorithm).update(body).digest('base64');
  const crc = crc32c();
  crc.update(body);
  return toBase64(crc.digest());
}

/** Stands for the signature: the imitation of S3 reads the signed checksum back from the URL. */
function signedQuery(signed: Record<string, string>): string {
  return Object.entries(signed).map(([k, v]) => `&signed-${k}=${encodeURIComponent(v)}`).join('');
}

export function errorReply(status: number, code: string, message: string, headers?: Record<string, string>): Reply {
  return { status, json: { error: { code, message, requestId: 'body-request-id' } }, ...(headers ? { headers } : {}) };
}

export function s3Error(status: number, code: string, message: string): Reply {
  return {
    status,
    headers: { 'content-type': 'application/xml', 'x-amz-request-id': 'S3REQ1' },
    text: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>S3REQ1</RequestId></Error>`,
  };
}

function send(res: ServerResponse, reply: Reply): void {
  res.statusCode = reply.status ?? 200;
  for (const [k, v] of Object.entries(reply.headers ?? {})) res.setHeader(k, v);
  if (reply.json !== undefined) {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(reply.json));
  } else if (reply.text !== undefined) {
    res.end(Buffer.from(reply.text, 'latin1'));
  } else {
    res.end();
  }
}

export async function startFake(): Promise<FakeBroker> {
  return new FakeBroker().start();
}
