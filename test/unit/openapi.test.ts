import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { lambdaHandler } from '../../src/http/lambdaHandler.js';
import { openApiDocument } from '../../src/http/openapi.js';
import type { HttpResponse } from '../../src/http/responses.js';
import { contractRoutes } from '../../src/routes/index.js';
import { openapiRoute } from '../../src/routes/openapi.js';
import { apiEvent, lambdaContext } from '../support/apiEvent.js';
import { testDeps } from '../support/brokerDeps.js';
import { brokerConfig } from '../support/configFixture.js';

const routes = [...contractRoutes, openapiRoute];
const strip = (schema: z.ZodType, io: 'input' | 'output') => {
  const { $schema: _d, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
};

describe('OpenAPI document', () => {
  const { deps } = testDeps(brokerConfig());

  it('is served unauthenticated at GET /v1/openapi.json and equals the generated document', async () => {
    const res = await lambdaHandler(openapiRoute, () => deps)(apiEvent({ method: 'GET', path: '/v1/openapi.json' }), lambdaContext) as HttpResponse;
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body!)).toEqual(openApiDocument(routes, '9.9.9-test'));
  });

  it('matches the committed openapi.json (apart from the version)', () => {
    const committed = JSON.parse(readFileSync(new URL('../../openapi.json', import.meta.url), 'utf8'));
    expect(committed).toEqual(openApiDocument(routes, committed.info.version));
  });

  it.each(routes.map((r) => [`${r.method} ${r.path}`, r] as const))('%s documents exactly the schemas its handler validates with', (_name, route) => {
    const doc = openApiDocument(routes, 'x') as { paths: Record<string, Record<string, any>> };
    const op = doc.paths[route.path]![route.method.toLowerCase()];
    expect(op.operationId).toBe(route.id);
    expect(op.responses['200'].content['application/json'].schema).toEqual(strip(route.output, 'output'));
    if (route.method === 'POST') {
      expect(op.requestBody.content['application/json'].schema).toEqual(strip(route.input, 'input'));
    } else {
      const properties = (strip(route.input, 'input') as { properties?: Record<string, unknown> }).properties ?? {};
      expect(op.parameters.map((p: { name: string }) => p.name)).toEqual(Object.keys(properties));
    }
  });

  it('lists every route of the serverless.yml', () => {
    const yml = readFileSync(new URL('../../serverless.yml', import.meta.url), 'utf8');
    const declared = [...yml.matchAll(/httpApi: \{ method: (GET|POST), path: ([^ }]+) \}/g)].map((m) => `${m[1]} ${m[2]}`).sort();
    expect(routes.map((r) => `${r.method} ${r.path}`).sort()).toEqual(declared);
  });
});
