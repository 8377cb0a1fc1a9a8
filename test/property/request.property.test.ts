/**
 * Lifetimes (docs/security.md: short-lived credentials, and "every expiresAt is min(requested, signing credentials'
 * expiry) and matches the URL"), for any requested duration and expiry, with a fake clock:
 *
 * - vended credentials last 900–3600 s and never longer than the grant allows, or the request is
 *   refused (400 below the floor or malformed, 403 above the grant) before STS;
 * - every presigned upload (PUT, POST) and download states an `expiresAt` that equals
 *   X-Amz-Date + X-Amz-Expires (the POST policy's `expiration`), never outlives the credentials
 *   that signed it, and is what was asked for unless those credentials end sooner.
 *
 * The fake clock advances a little on every read, as a real one does between the route reading
 * the signing time and the presigner signing, and so does the wall clock the AWS SDK reads itself
 * (Date.now, 1 ms per call here): the signing instant and expiresAt must still agree to the second.
 */
import { describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import type { BrokerConfig } from '../../src/config/schema.js';
import { YamlGrantStore } from '../../src/adapters/yamlGrantStore.js';
import { resolveGrant } from '../../src/usecases/resolveGrant.js';
import { scopeForCredentials } from '../../src/rules/scope.js';
import { encodeSubject } from '../../src/rules/subject.js';
import type { Caller, TemporaryCredentials } from '../../src/domain/model.js';
import { credentialsRoute } from '../../src/routes/credentials.js';
import { credentialsProcessRoute } from '../../src/routes/credentialsProcess.js';
import { downloadsRoute } from '../../src/routes/downloads.js';
import { uploadsRoute } from '../../src/routes/uploads.js';
import { apiEvent } from '../support/apiEvent.js';
import { testDeps } from '../support/brokerDeps.js';
import { brokerConfig, FIXTURE_API_KEYS } from '../support/configFixture.js';
import { invokeRoute, parseAmzDate } from '../support/invokeRoute.js';

const PURE_DURATION_RUNS = 5000;
const HANDLER_DURATION_RUNS = 1000;
const PRESIGN_RUNS = 400;

const START = Date.parse('2030-01-01T00:00:00Z');
const ACME_KEY = FIXTURE_API_KEYS.acmeBackend.key;

/** A clock that starts at `start` and moves `tickMs` forward on every read. */
function tickingClock(start: number, tickMs: number) {
  let now = start;
  return {
    clock: () => {
      const t = now;
      now += tickMs;
      return t;
    },
    advance: (ms: number) => { now += ms; },
    peek: () => now,
  };
}

// ---- durations -----------------------------------------------------------------------------

/** A partner cap and an optional, narrower client cap (config accepts 900–3600, client ≤ partner). */
const caps = fc.integer({ min: 900, max: 3600 }).chain((partner) =>
  fc.record({ partner: fc.constant(partner), client: fc.option(fc.integer({ min: 900, max: partner }), { nil: undefined }) }));

const BASE_CONFIG = brokerConfig();

/** The fixture with these caps (values the schema accepts: the generator stays inside them). */
function configWithCaps(partnerMax: number, clientMax: number | undefined): BrokerConfig {
  const config = structuredClone(BASE_CONFIG);
  const acme = config.partners['acme']!;
  acme.maxDurationSeconds = partnerMax;
  if (clientMax === undefined) delete acme.clients['backend']!.maxDurationSeconds;
  else acme.clients['backend']!.maxDurationSeconds = clientMax;
  return config;
}

const BACKEND: Caller = { partnerId: 'acme', clientId: 'backend', method: 'api-key', subject: 'acmek1', subjectSegment: encodeSubject('acmek1') };

/** Numbers of every kind, dense around the floor, the caps and the role-chaining limit. */
const duration = fc.oneof(
  fc.integer({ min: 850, max: 3700 }),
  fc.constantFrom(0, -0, -1, 1, 899, 900, 901, 3599, 3600, 3601, 43200, 900.5, 3599.999, NaN, Infinity, -Infinity, 2 ** 53, Number.MAX_VALUE),
  fc.integer(),
  fc.double(),
);

/** What the broker must answer for a requested duration under a grant capped at `max`. */
function expectedDuration(requested: number | undefined, max: number): { ok: number } | { status: number; code: string } {
  const seconds = requested ?? max;
  if (!Number.isInteger(seconds)) return { status: 400, code: 'invalid_duration' };
  if (seconds < 900) return { status: 400, code: 'invalid_duration' };
  if (seconds > max) return { status: 403, code: 'outside_grant' };
  return { ok: seconds };
}

describe('credential lifetime (properties)', () => {
  it(`scopeForCredentials: 900 ≤ duration ≤ grant cap ≤ 3600, or refused (${PURE_DURATION_RUNS} runs)`, async () => {
    await fc.assert(fc.asyncProperty(caps, fc.option(duration, { nil: undefined, freq: 8 }), async ({ partner, client }, requested) => {
      const grant = await resolveGrant(new YamlGrantStore(configWithCaps(partner, client)), BACKEND);
      expect(grant.maxDurationSeconds).toBe(client ?? partner);
      expect(grant.maxDurationSeconds).toBeGreaterThanOrEqual(900);
      expect(grant.maxDurationSeconds).toBeLessThanOrEqual(3600);
      const want = expectedDuration(requested, grant.maxDurationSeconds);
      let got: { ok: number } | { status: number; code: string };
      try {
        got = { ok: scopeForCredentials(grant, { durationSeconds: requested }).durationSeconds };
      } catch (err) {
        const e = err as { status: number; code: string; message: string };
        got = { status: e.status, code: e.code };
        // The refusal names the bound that was crossed.
        if (e.code === 'outside_grant') expect(e.message).toContain(String(grant.maxDurationSeconds));
        else if (Number.isInteger(requested)) expect(e.message).toContain('900');
      }
      expect(got).toEqual(want);
    }), { numRuns: PURE_DURATION_RUNS });
  });

  /** Any JSON value a client could send as durationSeconds (undefined: the field is absent). */
  const jsonDuration = fc.oneof(
    { weight: 6, arbitrary: duration.filter((n) => Number.isFinite(n)) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, null, '900', true, [], {}, '') },
  );

  it(`POST /v1/credentials and GET /v1/credentials/process: STS gets exactly the allowed duration, or nothing (${HANDLER_DURATION_RUNS} runs)`, async () => {
    const queryValue = fc.oneof(
      jsonDuration.filter((v): v is number => typeof v === 'number').map(String),
      fc.constantFrom('', ' 900 ', '0x384', '9e2', '900.0', 'abc', '1e400', '-0', '3600', '3601', '899'),
    );
    const shape = fc.oneof(
      fc.record({ via: fc.constant('post' as const), value: jsonDuration }),
      fc.record({ via: fc.constant('process' as const), value: queryValue }),
    );
    await fc.assert(fc.asyncProperty(caps, shape, fc.integer({ min: 0, max: 10 ** 9 }), async ({ partner, client }, { via, value }, offset) => {
      const config = configWithCaps(partner, client);
      const { clock } = tickingClock(START + offset, 0);
      const now = clock();
      const { deps, issuer } = testDeps(config, { now: clock });
      const event = via === 'post'
        ? apiEvent({ method: 'POST', path: '/v1/credentials', headers: { 'x-api-key': ACME_KEY }, body: value === undefined ? {} : { durationSeconds: value } })
        : apiEvent({ method: 'GET', path: '/v1/credentials/process', headers: { 'x-api-key': ACME_KEY }, query: { durationSeconds: value as string } });
      const { res, body } = await invokeRoute(via === 'post' ? credentialsRoute : credentialsProcessRoute, deps, event);

      const max = client ?? partner;
      // What reaches the broker's rules after the schema: POST takes JSON safe integers as they are; the query string is coerced.
      const parsed = via === 'post' ? value : Number(value);
      const schemaOk = parsed === undefined || (typeof parsed === 'number' && Number.isSafeInteger(parsed));
      const want = schemaOk ? expectedDuration(parsed as number | undefined, max) : { status: 400, code: 'invalid_request' };

      if ('ok' in want) {
        expect(res.statusCode).toBe(200);
        expect(issuer.requests).toHaveLength(1);
        expect(issuer.requests[0]!.durationSeconds).toBe(want.ok);
        const expiration = Date.parse(via === 'post' ? body.credentials.expiration : body.Expiration);
        expect(expiration).toBe(issuer.issued[0]!.expiration.getTime());
        const lifetime = expiration - now;
        expect(lifetime).toBeGreaterThan(want.ok * 1000 - 1000);
        expect(lifetime).toBeLessThanOrEqual(want.ok * 1000);
        expect(lifetime).toBeLessThanOrEqual(max * 1000);
        expect(lifetime).toBeGreaterThan(899_000);
        expect(lifetime).toBeLessThanOrEqual(3_600_000);
      } else {
        expect([res.statusCode, body.error.code]).toEqual([want.status, want.code]);
        expect(issuer.requests).toHaveLength(0);
        if (want.code === 'invalid_request') expect(body.error.message).toMatch(/^(body|query)\.durationSeconds: /);
      }
    }), { numRuns: HANDLER_DURATION_RUNS });
  });
});

// ---- presigned URL lifetimes ---------------------------------------------------------------

type Presign = 'PUT' | 'POST' | 'GET';
type PresignClient = { name: string; max: number; headers: Record<string, string>; contentType: string };

const expiresIn = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 1, max: 604800 }) },
  { weight: 3, arbitrary: fc.constantFrom(1, 59, 60, 300, 839, 840, 841, 899, 900, 3540, 3599, 3600, 3601, 86400, 604800) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(0, -1, 604801, 1.5, '300', null) },
);

const step = fc.record({
  /** Milliseconds of fake time before this request: often less than a session, sometimes more. */
  advanceMs: fc.oneof(
    fc.integer({ min: 0, max: 5_000 }),
    fc.integer({ min: 0, max: 4_000_000 }),
    fc.integer({ min: 0, max: 4_000 }).map((s) => s * 1000), // whole seconds keep the start's sub-second phase
  ),
  kind: fc.constantFrom<Presign>('PUT', 'POST', 'GET'),
  expiresIn: fc.option(expiresIn, { nil: undefined, freq: 5 }),
});

/** Clients with a 3600 s (acme/backend) and a 900 s (acme/app, a JWT caller) session cap. */
const presignClient = fc.constantFrom<PresignClient>(
  { name: 'backend', max: 3600, headers: { 'x-api-key': ACME_KEY }, contentType: 'application/pdf' },
  { name: 'app', max: 900, headers: { authorization: 'Bearer test.jwt.token' }, contentType: 'image/jpeg' },
);

/** The signing instant, lifetime and session token a presigned PUT/GET URL or POST form carries. */
function signedWindow(kind: Presign, body: Record<string, any>): { signedAt: number; expiresAt: number; token: string } {
  if (kind === 'POST') {
    const policy = JSON.parse(Buffer.from(body.fields.Policy as string, 'base64').toString('utf8')) as { expiration: string };
    return { signedAt: parseAmzDate(body.fields['X-Amz-Date']), expiresAt: Date.parse(policy.expiration), token: body.fields['X-Amz-Security-Token'] };
  }
  const params = new URL(body.url as string).searchParams;
  const signedAt = parseAmzDate(params.get('X-Amz-Date')!);
  return { signedAt, expiresAt: signedAt + Number(params.get('X-Amz-Expires')) * 1000, token: params.get('X-Amz-Security-Token')! };
}

type Step = { advanceMs: number; kind: Presign; expiresIn: unknown };

/** Runs `steps` against one broker whose fake clock starts at START + startMs and ticks `tickMs` per read. */
async function presignSequence(client: PresignClient, startMs: number, tickMs: number, steps: readonly Step[]): Promise<void> {
  const time = tickingClock(START + startMs, tickMs);
  const { deps, issuer } = testDeps(BASE_CONFIG, { now: time.clock, jwtSubject: { partnerId: 'acme', clientId: 'app', subject: 'alice' } });
  for (const s of steps) {
    time.advance(s.advanceMs);
    const before = time.peek();
    const stsCalls = issuer.requests.length;
    const requested = s.expiresIn === undefined ? 300 : s.expiresIn;
    const common = s.expiresIn === undefined ? {} : { expiresIn: s.expiresIn };
    const event = s.kind === 'GET'
      ? apiEvent({ method: 'POST', path: '/v1/downloads', headers: client.headers, body: { key: 'f.bin', ...common } })
      : apiEvent({ method: 'POST', path: '/v1/uploads', headers: client.headers, body: {
        method: s.kind, key: 'f.bin', contentType: client.contentType, ...(s.kind === 'PUT' ? { contentLength: 10 } : {}), ...common,
      } });
    const { res, body } = await invokeRoute(s.kind === 'GET' ? downloadsRoute : uploadsRoute, deps, event);
    const after = time.peek();

    if (!(typeof requested === 'number' && Number.isInteger(requested) && requested >= 1 && requested <= 604800)) {
      expect([res.statusCode, body.error.code]).toEqual([400, 'invalid_request']);
      expect(body.error.message).toMatch(/^body\.expiresIn: /);
      expect(issuer.requests).toHaveLength(stsCalls);
      continue;
    }
    expect(res.statusCode).toBe(200);
    const { signedAt, expiresAt, token } = signedWindow(s.kind, body);
    const credentials: TemporaryCredentials | undefined = issuer.issued.find((c) => c.sessionToken === token);
    if (!credentials) throw new Error('the URL is signed with credentials STS never issued');
    const credentialsExpire = credentials.expiration.getTime();

    // One signing instant, inside this request.
    expect(signedAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(signedAt).toBeLessThanOrEqual(after);
    // The response states exactly what the URL or form carries.
    expect(Date.parse(body.expiresAt)).toBe(expiresAt);
    // Never beyond the signing credentials, never beyond what was asked for.
    expect(expiresAt).toBeLessThanOrEqual(credentialsExpire);
    expect(expiresAt - signedAt).toBeLessThanOrEqual(requested * 1000);
    // min(requested, what the credentials have left): shortened only by the credentials' end.
    const left = Math.floor((credentialsExpire - signedAt) / 1000);
    expect((expiresAt - signedAt) / 1000).toBeGreaterThanOrEqual(Math.min(requested, left) - 1);
    // A session is never used when it cannot cover the URL (up to the 60 s headroom under the grant's cap).
    expect((expiresAt - signedAt) / 1000).toBeGreaterThanOrEqual(Math.min(requested, client.max - 60) - 1);
    // Sessions live 900 s to the grant's cap.
    for (const r of issuer.requests) {
      expect(r.durationSeconds).toBeGreaterThanOrEqual(900);
      expect(r.durationSeconds).toBeLessThanOrEqual(client.max);
    }
  }
}

describe('presigned URL lifetimes (property)', () => {
  it(`expiresAt = X-Amz-Date + X-Amz-Expires ≤ signing credentials' expiry, = min(requested, what they have left) (${PRESIGN_RUNS} runs)`, async () => {
    await fc.assert(fc.asyncProperty(
      presignClient,
      // Just before a second boundary is where a second clock read would tick over.
      fc.oneof(fc.integer({ min: 0, max: 999 }), fc.integer({ min: 970, max: 999 }), fc.integer({ min: 970, max: 999 })),
      fc.constantFrom(0, 1, 3, 20),
      fc.array(step, { minLength: 1, maxLength: 6 }),
      async (client, startMs, tickMs, steps) => {
        // The SDK's own clock reads (createPresignedPost) see time pass too: 1 ms per Date.now() call.
        let wall = Date.now();
        const wallClock = jest.spyOn(Date, 'now').mockImplementation(() => (wall += 1));
        try {
          await presignSequence(client, startMs, tickMs, steps);
        } finally {
          wallClock.mockRestore();
        }
      },
    ), { numRuns: PRESIGN_RUNS });
  });
});
