/**
 * Every authenticated answer carries `Cache-Control: no-store`: it is about one caller (credentials,
 * signed URLs, or a grant), and a shared cache must never serve it to another. Each authenticated
 * route of the contract list is driven to a 200 through the real request pipeline; a route added to
 * src/routes/index.ts without a successful request here fails the first test.
 */
import { describe, expect, it } from '@jest/globals';
import type { HttpResponse } from '../../src/http/responses.js';
import type { Route } from '../../src/http/route.js';
import { contractRoutes } from '../../src/routes/index.js';
import { apiEvent } from '../support/apiEvent.js';
import { testDeps } from '../support/brokerDeps.js';
import { brokerConfig, FIXTURE_API_KEYS } from '../support/configFixture.js';
import { invokeRoute } from '../support/invokeRoute.js';

const ACME_KEY = FIXTURE_API_KEYS.acmeBackend.key;
const MiB = 1024 * 1024;
const declaration = { contentLength: 12 * MiB, partSize: 5 * MiB };

type Deps = ReturnType<typeof testDeps>;
/** One successful request per authenticated route id: its input (body or query) and any state it needs first. */
const SUCCESSFUL: Record<string, (ctx: Deps) => Promise<Record<string, unknown>>> = {
  vendCredentials: async () => ({ actions: ['read'] }),
  vendCredentialProcess: async () => ({}),
  vendContainerCredentials: async () => ({}),
  presignUpload: async () => ({ method: 'PUT', key: 'a.pdf', contentType: 'application/pdf', contentLength: 10 }),
  createMultipartUpload: async () => ({ key: 'big.pdf', contentType: 'application/pdf', ...declaration }),
  presignMultipartParts: async ({ multipart }) => ({ key: 'big.pdf', uploadId: await started(multipart), partNumbers: [1], ...declaration }),
  completeMultipartUpload: async ({ multipart }) => {
    const uploadId = await started(multipart);
    const parts = [1, 2, 3].map((n) => ({ partNumber: n, etag: multipart.putPart(uploadId, n, n < 3 ? 5 * MiB : 2 * MiB) }));
    return { key: 'big.pdf', uploadId, ...declaration, parts };
  },
  listMultipartParts: async ({ multipart }) => ({ fullKey: 'acme/big.pdf', uploadId: await started(multipart) }),
  abortMultipartUpload: async ({ multipart }) => ({ key: 'big.pdf', uploadId: await started(multipart) }),
  presignDownload: async () => ({ key: 'a.pdf' }),
  whoami: async () => ({}),
};

/** An upload the fake S3 knows, for acme/backend's big.pdf. */
async function started(multipart: Deps['multipart']): Promise<string> {
  const { uploadId } = await multipart.create({
    credentials: { accessKeyId: 'ASIAFIXTURE', secretAccessKey: 'unused', sessionToken: 'unused', expiration: new Date(Date.now() + 3_600_000) },
    target: { bucket: 'partner-bucket', region: 'ap-northeast-1', forcePathStyle: false },
    key: 'acme/big.pdf',
    contentType: 'application/pdf',
  });
  return uploadId;
}

const authenticated = contractRoutes.filter((r) => r.auth !== 'none');

describe('Cache-Control: no-store on every authenticated route', () => {
  it('the contract lists authenticated routes, and this test knows a successful request for each', () => {
    expect(authenticated.length).toBeGreaterThanOrEqual(10);
    expect(authenticated.map((r) => r.id).filter((id) => !(id in SUCCESSFUL))).toEqual([]);
  });

  it.each(authenticated.map((r) => [`${r.method} ${r.path}`, r] as const))('%s answers 200 with no-store', async (_name, route: Route<any>) => {
    const ctx = testDeps(brokerConfig());
    const input = await SUCCESSFUL[route.id]!(ctx);
    const headers = { 'x-api-key': ACME_KEY };
    const event = route.method === 'POST'
      ? apiEvent({ method: 'POST', path: route.path, headers, body: input })
      : apiEvent({ method: 'GET', path: route.path, headers, ...(Object.keys(input).length > 0 ? { query: input as Record<string, string> } : {}) });
    const { res, body } = await invokeRoute(route, ctx.deps, event);
    expect({ status: res.statusCode, error: body?.error }).toEqual({ status: 200, error: undefined });
    expect(res.headers['cache-control']).toBe('no-store');
    expect((res as HttpResponse).headers.pragma).toBe('no-cache');
  });

  it('every authenticated route declares noStore (the type requires it; this guards casts)', () => {
    expect(authenticated.filter((r) => r.noStore !== true).map((r) => r.id)).toEqual([]);
  });
});
