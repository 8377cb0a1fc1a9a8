/**
 * Every route of the contract (src/routes/index.ts), driven in-process through the real request
 * pipeline with an STS stand-in that always works, fed bodies and query strings made of arbitrary
 * values: strings of any Unicode (lone surrogates included), numbers, nulls, arrays, objects,
 * unknown fields. Whatever arrives, the answer is never a 5xx (a 5xx here would be the broker's
 * own bug: the upstreams all work), is the one JSON error shape when it is an error, and carries
 * X-Request-Id.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { Route } from '../../src/http/route.js';
import { contractRoutes } from '../../src/routes/index.js';
import { apiEvent } from '../support/apiEvent.js';
import { testDeps } from '../support/brokerDeps.js';
import { brokerConfig, FIXTURE_API_KEYS } from '../support/configFixture.js';
import { invokeRoute } from '../support/invokeRoute.js';

const RUNS = 1500;
const MiB = 1024 * 1024;
const ACME_KEY = FIXTURE_API_KEYS.acmeBackend.key;

/** A valid request per route: the fuzzer replaces, removes and adds fields from here. */
const TEMPLATES: Record<string, Record<string, unknown>> = {
  vendCredentials: { actions: ['read'], prefix: 'sub/', durationSeconds: 900 },
  vendCredentialProcess: { actions: 'read,list', prefix: 'sub/', durationSeconds: '900' },
  vendContainerCredentials: { actions: 'read', prefix: 'sub/', durationSeconds: '900' },
  presignUpload: { method: 'PUT', key: 'a.pdf', contentType: 'application/pdf', contentLength: 10, expiresIn: 300 },
  createMultipartUpload: { key: 'big.pdf', contentType: 'application/pdf', contentLength: 20 * MiB, partSize: 8 * MiB },
  presignMultipartParts: { key: 'big.pdf', uploadId: '2~abc', partNumbers: [1, 2], contentLength: 20 * MiB, partSize: 8 * MiB, expiresIn: 300 },
  completeMultipartUpload: { key: 'big.pdf', uploadId: '2~abc', contentLength: 20 * MiB, partSize: 8 * MiB, parts: [{ partNumber: 1, etag: '"e"' }] },
  listMultipartParts: { key: 'big.pdf', fullKey: 'acme/big.pdf', uploadId: '2~abc' },
  abortMultipartUpload: { key: 'big.pdf', uploadId: '2~abc' },
  presignDownload: { key: 'a.pdf', filename: 'report.pdf', expiresIn: 300 },
  whoami: {},
  health: {},
};

/** Strings a caller might send: anything at all, plus the neighbourhood of the interesting ones. */
const anyString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('', '.', '..', '../x', 'a/../b', '/abs', 'a\\b', '\uD800', 'x\uDFFF', '\uD83D\uDE00', '＂；＼', '%00', '${sub}', '*', 'a'.repeat(1100), 'read', 'write,list', 'PUT', 'POST', '900', '-1', '1e400', 'application/pdf'),
);
const anyNumber = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -1, 1, 899, 900, 3600, 3601, 5 * MiB, 2 ** 53, 10_000, 10_001));
const anyValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, anyString, anyNumber, fc.boolean(), fc.constant(null), tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(anyString, tie('value'), { maxKeys: 4 }),
})).value;

/** A template with one field replaced by any string; or some fields replaced by any values, some removed, maybe one added; or any value at all. */
function inputFor(template: Record<string, unknown>): fc.Arbitrary<unknown> {
  const keys = Object.keys(template);
  const mutated = fc.record({
    replace: fc.dictionary(fc.constantFrom(...(keys.length > 0 ? keys : ['key'])), anyValue, { maxKeys: 3 }),
    remove: fc.subarray(keys, { maxLength: Math.min(2, keys.length) }),
    extra: fc.option(fc.tuple(anyString, anyValue), { nil: undefined }),
  }).map(({ replace, remove, extra }) => {
    const out: Record<string, unknown> = { ...template, ...replace };
    for (const k of remove) delete out[k];
    if (extra) out[extra[0]] = extra[1];
    return out;
  });
  // one field replaced by an arbitrary string, the rest valid: reaches deep into each route
  const oneString = keys.length === 0 ? mutated : fc.tuple(fc.constantFrom(...keys), anyString).map(([k, v]) => ({ ...template, [k]: v }));
  return fc.oneof({ weight: 3, arbitrary: oneString }, { weight: 3, arbitrary: mutated }, { weight: 1, arbitrary: anyValue });
}

/** The event for `route`: a JSON body for POST, string query parameters for GET. */
function eventFor(route: Route<any>, input: unknown) {
  const headers = { 'x-api-key': ACME_KEY };
  if (route.method === 'POST') return apiEvent({ method: 'POST', path: route.path, headers, rawBody: JSON.stringify(input) ?? 'null', ...{} });
  const query = typeof input === 'object' && input !== null && !Array.isArray(input)
    ? Object.fromEntries(Object.entries(input).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v) ?? '']))
    : {};
  return apiEvent({ method: 'GET', path: route.path, headers, query });
}

const requests = fc.constantFrom(...contractRoutes).chain((route) => inputFor(TEMPLATES[route.id] ?? {}).map((input) => ({ route, input })));

describe('every route, any input (property)', () => {
  it('lists a template for every contract route (so none is left out of the fuzzing)', () => {
    expect(contractRoutes.map((r) => r.id).sort()).toEqual(Object.keys(TEMPLATES).sort());
  });

  it(`never answers 5xx, always with X-Request-Id and, for errors, the one error shape (${RUNS} runs)`, async () => {
    const { deps } = testDeps(brokerConfig());
    const statuses = new Map<number, number>();
    await fc.assert(fc.asyncProperty(requests, async ({ route, input }) => {
      const event = eventFor(route, input);
      // POST bodies travel as application/json
      if (route.method === 'POST') event.headers['content-type'] = 'application/json';
      const { res, body } = await invokeRoute(route, deps, event);
      const status = res.statusCode ?? 0;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      expect(status).toBeLessThan(500);
      expect(res.headers['x-request-id']).toBe(event.requestContext.requestId);
      if (status >= 400) expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'requestId']);
    }), { numRuns: RUNS });
    // the fuzzer reached both outcomes, so the property is not vacuous
    expect(statuses.get(200)).toBeGreaterThan(0);
    expect([...statuses.keys()].some((s) => s >= 400)).toBe(true);
  }, 300_000);
});
