import * as z from 'zod';
import { openApiDocument } from '../http/openapi.js';
import type { PublicRoute } from '../http/route.js';
import { contractRoutes } from './index.js';

export const openapiRoute: PublicRoute<Record<string, never>> = {
  id: 'openapi',
  method: 'GET',
  path: '/v1/openapi.json',
  summary: 'This API\'s OpenAPI 3.1 document',
  description: 'Generated at run time from the zod schemas the handlers validate with, so it cannot drift from them.',
  auth: 'none',
  input: z.strictObject({}),
  output: z.record(z.string(), z.unknown()),
  noStore: false,
  async handle(_input, { deps }) {
    return openApiDocument([...contractRoutes, openapiRoute], deps.settings.BROKER_VERSION);
  },
};
