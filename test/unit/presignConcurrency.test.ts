/**
 * Single flight through the whole handler stack: a burst of presign requests from one caller must
 * reach STS as one AssumeRole, and a burst from N subjects as N (never shared across subjects).
 * The issuer holds every AssumeRole until all requests of the burst have asked the session cache,
 * so the requests really are in flight together (not served one after another from the cache).
 */
import { describe, expect, it } from '@jest/globals';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { BrokerDeps } from '../../src/usecases/deps.js';
import { lambdaHandler } from '../../src/http/lambdaHandler.js';
import type { HttpResponse } from '../../src/http/responses.js';
import type { AssumeRoleRequest } from '../../src/domain/model.js';
import type { SessionProvider } from '../../src/ports/ports.js';
import { uploadsRoute } from '../../src/routes/uploads.js';
import { apiEvent, lambdaContext } from '../support/apiEvent.js';
import { testDeps } from '../support/brokerDeps.js';
import { captureLogs } from '../support/captureLogs.js';
import { brokerConfig, FIXTURE_API_KEYS } from '../support/configFixture.js';
import { recordResponseSecrets } from '../../scripts/lib/logScan.js';

const BURST = 100;

/**
 * Production wiring with a recording STS whose answers wait until `burst` requests have entered
 * the session cache. JWTs are faked as `sub:<subject>` tokens for the `app` client (its prefix holds
 * `${sub}`); API keys are verified for real.
 */
function setup(burst: number) {
  const { deps, issuer } = testDeps(brokerConfig());
  let entered = 0;
  let openGate: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => { openGate = resolve; });
  const sessions = deps.sessions;
  const counting: SessionProvider = {
    getSession: (cacheKey, request, minRemainingSeconds) => {
      entered += 1;
      if (entered === burst) openGate();
      return sessions.getSession(cacheKey, request, minRemainingSeconds);
    },
  };
  const assumeRole = issuer.assumeRole.bind(issuer);
  issuer.assumeRole = (request: AssumeRoleRequest) => gate.then(() => assumeRole(request));
  const wired: BrokerDeps = {
    ...deps,
    sessions: counting,
    jwt: {
      verify: async (token: string) => {
        const subject = /^sub:(.+)$/.exec(token)?.[1];
        if (subject === undefined) throw new Error(`unexpected token in this test: ${token}`);
        return { partnerId: 'acme', clientId: 'app', subject };
      },
    },
  };
  const handler = lambdaHandler(uploadsRoute, () => wired);
  const invokeAll = async (events: APIGatewayProxyEventV2[]) => {
    const { result, lines } = await captureLogs(() => Promise.all(events.map((e) => handler(e, lambdaContext) as Promise<HttpResponse>)));
    const bodies = result.map((r) => JSON.parse(r.body ?? 'null') as Record<string, any>);
    bodies.forEach(recordResponseSecrets);
    return { responses: result, bodies, lines, entered: () => entered };
  };
  return { issuer, invokeAll };
}

const upload = (n: number, headers: Record<string, string>) => apiEvent({
  method: 'POST',
  path: '/v1/uploads',
  headers,
  body: { method: 'PUT', key: `burst/file-${n}.jpg`, contentType: 'image/jpeg', contentLength: 1000 + n, expiresIn: 300 },
});

/** The access key id a presigned URL was signed with (X-Amz-Credential = AKID/date/region/s3/aws4_request). */
const signingKeyOf = (url: string): string => new URL(url).searchParams.get('X-Amz-Credential')!.split('/')[0]!;

describe('presign single flight through lambdaHandler', () => {
  it(`${BURST} parallel POST /v1/uploads from one caller make exactly one AssumeRole`, async () => {
    const { issuer, invokeAll } = setup(BURST);
    const events = Array.from({ length: BURST }, (_, n) => upload(n, { 'x-api-key': FIXTURE_API_KEYS.acmeBackend.key }));
    const { responses, bodies, lines, entered } = await invokeAll(events);

    expect(entered()).toBe(BURST);
    expect(responses.map((r) => r.statusCode)).toEqual(Array(BURST).fill(200));
    expect(issuer.requests).toHaveLength(1);
    expect(issuer.requests[0]!.sourceIdentity).toContain('acmek1');
    // every URL is signed by the one session, for its own key
    expect(new Set(bodies.map((b) => signingKeyOf(b.url)))).toEqual(new Set([issuer.issued[0]!.accessKeyId]));
    expect(new Set(bodies.map((b) => b.key)).size).toBe(BURST);
    // and every issuance is audited, once
    expect(lines.filter((l) => l.includes('"audit":true'))).toHaveLength(BURST);
  });

  it(`${BURST} parallel POST /v1/uploads from 10 subjects make exactly 10 AssumeRoles, one per subject`, async () => {
    const { issuer, invokeAll } = setup(BURST);
    const subjects = Array.from({ length: 10 }, (_, i) => `user${i}`);
    const events = Array.from({ length: BURST }, (_, n) => upload(n, { authorization: `Bearer sub:${subjects[n % subjects.length]}` }));
    const { responses, bodies, entered } = await invokeAll(events);

    expect(entered()).toBe(BURST);
    expect(responses.map((r) => r.statusCode)).toEqual(Array(BURST).fill(200));
    expect(issuer.requests).toHaveLength(10);
    expect(new Set(issuer.requests.map((r) => r.sourceIdentity)).size).toBe(10);
    // never shared across subjects: each subject's URLs carry its own session and its own prefix
    subjects.forEach((subject, i) => {
      const mine = bodies.filter((_, n) => n % subjects.length === i);
      expect(mine.every((b) => (b.key as string).startsWith(`acme/users/${subject}/`))).toBe(true);
      const keys = new Set(mine.map((b) => signingKeyOf(b.url)));
      expect(keys.size).toBe(1);
      const request = issuer.requests[issuer.issued.findIndex((c) => keys.has(c.accessKeyId))]!;
      expect(request.policy).toContain(`acme/users/${subject}/`);
    });
    expect(new Set(bodies.map((b) => signingKeyOf(b.url))).size).toBe(10);
  });
});
