import * as z from 'zod';
import { auditIssuance } from '../usecases/audit.js';
import { presignSigning } from '../usecases/session.js';
import { assertContentTypeAllowed, assertUploadSize } from '../rules/uploadRules.js';
import { resolveGrant } from '../usecases/resolveGrant.js';
import { scopeForObject } from '../rules/scope.js';
import type { AuthenticatedRoute } from '../http/route.js';
import { contentType, expiresIn, isoDate, relativeKey } from './schemas.js';

export const uploadInput = z.discriminatedUnion('method', [
  z.strictObject({
    method: z.literal('PUT'),
    key: relativeKey,
    contentType,
    contentLength: z.number().int().min(0).describe('exact size in bytes; signed into the URL, so the size limit binds'),
    expiresIn,
  }),
  z.strictObject({ method: z.literal('POST'), key: relativeKey, contentType, expiresIn }),
]);

const uploadOutput = z.discriminatedUnion('method', [
  z.object({ method: z.literal('PUT'), url: z.string(), headers: z.record(z.string(), z.string()), key: z.string(), expiresAt: isoDate }),
  z.object({ method: z.literal('POST'), url: z.string(), fields: z.record(z.string(), z.string()), key: z.string(), maxBytes: z.number(), expiresAt: isoDate }),
]);

export const uploadsRoute: AuthenticatedRoute<z.infer<typeof uploadInput>> = {
  id: 'presignUpload',
  method: 'POST',
  path: '/v1/uploads',
  summary: 'Presigned upload for one object key',
  description:
    'PUT: a URL that signs Content-Type and Content-Length (send exactly the returned headers). POST: a browser form policy that pins '
    + 'the key, Content-Type, bucket and content-length-range 1..maxUploadBytes. Keys are relative to the grant prefix; the response '
    + 'shows the full key. expiresAt is min(requested, signing credentials\' expiry) and matches the URL.',
  auth: 'caller',
  input: uploadInput,
  output: uploadOutput,
  noStore: true,
  async handle(input, { deps, caller, requestId }) {
    const grant = resolveGrant(deps.store, caller);
    const scope = scopeForObject(grant, { action: 'write', relativeKey: input.key });
    const key = scope.objectKey!;
    const type = assertContentTypeAllowed(grant, input.contentType);
    if (input.method === 'PUT') assertUploadSize(grant, input.contentLength);

    const { base, expiresAt, sessionName, accessKeyId } = await presignSigning(deps, caller, grant, { action: 'write', key, expiresIn: input.expiresIn });
    auditIssuance(deps.logger, { requestId, caller, action: `upload:${input.method}`, scope, sessionName, accessKeyId, expiresAt, cachedSession: true });

    if (input.method === 'PUT') {
      const signed = await deps.presigner.presignPut({ ...base, contentType: type, contentLength: input.contentLength });
      return { method: 'PUT', url: signed.url, headers: signed.headers, key, expiresAt: expiresAt.toISOString() };
    }
    const maxBytes = grant.client.maxUploadBytes;
    const signed = await deps.presigner.presignPost({ ...base, contentType: type, maxBytes });
    return { method: 'POST', url: signed.url, fields: signed.fields, key, maxBytes, expiresAt: expiresAt.toISOString() };
  },
};
