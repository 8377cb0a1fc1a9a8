/**
 * The README's browser/mobile POST-policy recipe (examples/postUpload.ts), run with a form the
 * broker really builds (the uploads route through the request pipeline) against a loopback server that
 * reads the multipart body the way S3 does: every field verbatim, the file last. (That such a form
 * uploads into real S3 is test/e2e/post.test.ts's job.)
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PostUploadError, uploadWithPostPolicy } from '../../examples/postUpload.js';
import { uploadsRoute } from '../../src/routes/uploads.js';
import { apiEvent } from '../support/apiEvent.js';
import { testDeps } from '../support/brokerDeps.js';
import { brokerConfig, FIXTURE_API_KEYS } from '../support/configFixture.js';
import { invokeRoute } from '../support/invokeRoute.js';

let server: Server;
let origin: string;
let received: { contentType: string; entries: Array<[string, string | { name: string; type: string; bytes: Buffer }]> } | undefined;
let reply: (res: ServerResponse) => void;

async function readForm(req: IncomingMessage) {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const contentType = req.headers['content-type'] ?? '';
  const form = await new Response(Buffer.concat(chunks), { headers: { 'content-type': contentType } }).formData();
  const entries: NonNullable<typeof received>['entries'] = [];
  for (const [name, value] of form.entries()) {
    entries.push([name, typeof value === 'string' ? value : { name: (value as File).name, type: value.type, bytes: Buffer.from(await value.arrayBuffer()) }]);
  }
  return { contentType, entries };
}

beforeAll(async () => {
  server = createServer((req, res) => {
    readForm(req).then((form) => { received = form; reply(res); }, () => { res.writeHead(400); res.end(); });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A real POST form from the broker (acme/backend, image/png), aimed at the loopback server. */
async function brokerForm() {
  const { deps } = testDeps(brokerConfig());
  const event = apiEvent({ method: 'POST', path: '/v1/uploads', body: { method: 'POST', key: 'photos/cat.png', contentType: 'image/png' }, headers: { 'x-api-key': FIXTURE_API_KEYS.acmeBackend.key } });
  const { res, body } = await invokeRoute(uploadsRoute, deps, event);
  expect(res.statusCode).toBe(200);
  return { url: origin, fields: body.fields as Record<string, string> };
}

describe('POST-policy upload recipe (fetch + FormData)', () => {
  it('sends every field verbatim, in order, then the file last with its type', async () => {
    reply = (res) => { res.writeHead(204); res.end(); };
    const form = await brokerForm();
    const png = new Blob([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(100, 7)], { type: 'image/png' });
    await uploadWithPostPolicy(form, png, 'cat.png');

    expect(received!.contentType).toMatch(/^multipart\/form-data; boundary=/);
    const names = received!.entries.map(([name]) => name);
    expect(names).toEqual([...Object.keys(form.fields), 'file']);
    for (const [name, value] of received!.entries.slice(0, -1)) expect(value).toBe(form.fields[name]);
    const file = received!.entries.at(-1)![1] as { name: string; type: string; bytes: Buffer };
    expect(file).toMatchObject({ name: 'cat.png', type: 'image/png' });
    expect(file.bytes.equals(Buffer.from(await png.arrayBuffer()))).toBe(true);
    // the fields that make S3 enforce the grant are among them
    expect(Object.keys(form.fields)).toEqual(expect.arrayContaining(['key', 'Content-Type', 'Policy', 'X-Amz-Signature', 'X-Amz-Security-Token']));
  });

  it('rejects with S3\'s status and error code when S3 refuses', async () => {
    reply = (res) => {
      res.writeHead(400, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0"?><Error><Code>EntityTooLarge</Code><Message>too big</Message></Error>');
    };
    const failure = uploadWithPostPolicy(await brokerForm(), new Blob(['x']), 'x.png');
    await expect(failure).rejects.toBeInstanceOf(PostUploadError);
    await expect(failure).rejects.toThrow('S3 refused the upload: HTTP 400 EntityTooLarge');
  });
});
