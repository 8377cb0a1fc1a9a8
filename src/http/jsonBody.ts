/**
 * Parses a JSON request body, refusing prototype-pollution keys. The broker's own body parser
 * rather than @middy/http-json-body-parser, which (in middy 6, the line that runs on Node 20)
 * parses `__proto__` and `constructor.prototype` keys without complaint. Same contract as middy 7's
 * parser: a body that is not declared JSON is 415; a missing or malformed body, or a forbidden key, is 400.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { InvalidRequestError, UnsupportedMediaTypeError } from '../domain/errors.js';

/** `application/json`, or a `+json` structured syntax suffix, with optional parameters. */
const JSON_CONTENT_TYPE = /^application\/([a-z0-9.+-]+\+)?json(;|$)/i;

class ForbiddenKey extends Error {}

/** JSON.parse that throws on a `__proto__` key or a `constructor` object with a `prototype` key, at any depth. */
export function parseJsonProtectingPrototypes(text: string): unknown {
  // Without a backslash no key can be an escape-spelled `__proto__`/`constructor`, so a text naming
  // neither cannot hold one: parsed without the reviver (V8's fast path; the reviver visits every value).
  if (!text.includes('\\') && !text.includes('__proto__') && !text.includes('constructor')) return JSON.parse(text);
  return JSON.parse(text, (key, value: unknown) => {
    if (key === '__proto__' || (key === 'constructor' && typeof value === 'object' && value !== null && Object.hasOwn(value, 'prototype'))) {
      throw new ForbiddenKey(key);
    }
    return value;
  });
}

/** Replaces `event.body` (a string) with the parsed JSON value; throws the 415 or 400 the request earns. */
export function parseJsonBody(event: APIGatewayProxyEventV2): void {
  const contentType = event.headers?.['content-type'] ?? event.headers?.['Content-Type'];
  if (contentType === undefined || !JSON_CONTENT_TYPE.test(contentType)) {
    throw new UnsupportedMediaTypeError('send the body as Content-Type: application/json');
  }
  if (event.body === undefined || event.body === null) throw new InvalidRequestError('the body is not valid JSON');
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString() : event.body;
  try {
    (event as { body: unknown }).body = parseJsonProtectingPrototypes(text);
  } catch (err) {
    if (err instanceof ForbiddenKey) {
      throw new InvalidRequestError('the body contains a forbidden key (__proto__ or constructor.prototype)');
    }
    throw new InvalidRequestError('the body is not valid JSON');
  }
}
