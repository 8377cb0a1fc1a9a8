/**
 * The OpenAPI 3.1 document, generated from the same zod schemas the handlers validate with (zod's
 * own JSON Schema 2020-12 output, which is OpenAPI 3.1's schema dialect): no hand-kept copy.
 */
import * as z from 'zod';
import type { Route } from './route.js';

const ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'requestId'],
      properties: { code: { type: 'string' }, message: { type: 'string' }, requestId: { type: 'string' } },
    },
  },
} as const;

const ERRORS: Record<string, string> = {
  '400': 'Invalid request (invalid_request, invalid_key, invalid_duration, policy_too_large)',
  '401': 'Unauthenticated',
  '403': 'Outside the caller\'s grant (outside_grant), or an operator disabled or revoked the caller\'s partner, client, key or subject (access_revoked)',
  '413': 'Too large (too_large)',
  '415': 'Body is not application/json',
  '502': 'The partner role could not be assumed, or STS answered unusably',
  '503': 'STS throttled or unavailable, the identity provider\'s keys could not be fetched, or the grant store could not be read (grant_store_unavailable); Retry-After says when to retry',
  '504': 'STS timed out',
};

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

/** Query parameters of a GET route, one per property of its (object) input schema. */
function queryParameters(route: Route<unknown>): object[] {
  const schema = jsonSchema(route.input, 'input') as { properties?: Record<string, { description?: string }>; required?: string[] };
  return Object.entries(schema.properties ?? {}).map(([name, property]) => ({
    name, in: 'query', required: schema.required?.includes(name) ?? false,
    ...(property.description ? { description: property.description } : {}), schema: property,
  }));
}

function operation(route: Route<unknown>): object {
  const errorResponses = Object.fromEntries(
    Object.entries({ ...ERRORS, ...route.errors })
      .filter(([status]) => route.auth !== 'none' || status === '400')
      .map(([status, description]) => [status, { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }]),
  );
  return {
    operationId: route.id,
    summary: route.summary,
    description: route.description,
    ...(route.auth === 'none' ? { security: [] } : {}),
    ...(route.method === 'GET'
      ? { parameters: queryParameters(route) }
      : { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(route.input, 'input') } } } }),
    responses: {
      '200': { description: 'OK', content: { 'application/json': { schema: jsonSchema(route.output, 'output') } } },
      ...errorResponses,
    },
  };
}

/** Builds the whole document for `routes`. */
export function openApiDocument(routes: ReadonlyArray<Route<any>>, version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, object>> = {};
  for (const route of routes) (paths[route.path] ??= {})[route.method.toLowerCase()] = operation(route);
  return {
    openapi: '3.1.0',
    info: {
      title: 'sts-broker',
      version,
      description: 'Short-lived, narrowly scoped AWS access to a partner\'s S3 bucket: temporary credentials and presigned URLs.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: '/' }],
    security: [{ apiKey: [] }, { bearer: [] }],
    paths,
    components: {
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key', description: 'sbk_<id>_<secret>' },
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An OIDC token from a configured issuer, or an API key' },
      },
      schemas: { Error: ERROR_SCHEMA },
    },
  };
}
