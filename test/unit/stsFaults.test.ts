/**
 * Upstream faults (docs/security.md: bounded, honest upstream failures): the production wiring (coldStart: the REAL
 * StsCredentialIssuer with its default SDK client, retries and timeouts) pointed through
 * BROKER_STS_ENDPOINT at a loopback fault proxy that answers like STS: XML errors, silence, resets,
 * a closed port. Every fault becomes an honest 4xx/5xx with the one error shape, after bounded
 * retries and in bounded time; none is a 500, and no body carries the broker's secret key, an ARN
 * or STS's own message.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrokerDeps } from '../../src/usecases/deps.js';
import { S3Presigner } from '../../src/adapters/aws/s3Presigner.js';
import { credentialsRoute } from '../../src/routes/credentials.js';
import { uploadsRoute } from '../../src/routes/uploads.js';
import { coldStart } from '../../src/wiring/withAws.js';
import { lambdaHandler } from '../../src/http/lambdaHandler.js';
import type { HttpResponse } from '../../src/http/responses.js';
import { apiEvent, lambdaContext } from '../support/apiEvent.js';
import { captureLogs } from '../support/captureLogs.js';
import { configYaml, FIXTURE_API_KEYS } from '../support/configFixture.js';
import { invokeRoute, type Invoked } from '../support/invokeRoute.js';
import { recordSecrets } from '../../scripts/lib/logScan.js';

const TIMEOUT_MS = 300;
const MAX_ATTEMPTS = 3;
/** The broker's own (dummy) credentials: they sign the AssumeRole calls and must never surface. */
const BROKER_ACCESS_KEY_ID = 'AKIAFAULTPROXYTEST01';
const BROKER_SECRET_KEY = 'fAuLtPr0xyBr0kerS3cretKeyNeverInABody+/9x';
const ACME_KEY = FIXTURE_API_KEYS.acmeBackend.key;
recordSecrets(BROKER_SECRET_KEY);

// ---- the fault proxy -----------------------------------------------------------------------

type Fault =
  | { kind: 'ok' }
  | { kind: 'error'; status: number; type: 'Sender' | 'Receiver'; code: string; message: string }
  | { kind: 'raw'; status: number; body: string }
  | { kind: 'silent' }
  | { kind: 'reset' };

const ISSUED = {
  accessKeyId: 'ASIAPROXYISSUED00001',
  secretAccessKey: 'pr0xyIssuedSecretAccessKeyForTheCaller/+0',
  sessionToken: `FwoGZXIvYXdzEProxyIssuedSessionToken${'Q'.repeat(120)}`,
};
recordSecrets(ISSUED.secretAccessKey, ISSUED.sessionToken);

function stsXml(fault: Fault & { kind: 'error' }): string {
  return `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>${fault.type}</Type><Code>${fault.code}</Code>`
    + `<Message>${fault.message}</Message></Error><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ErrorResponse>`;
}

function okXml(durationSeconds: number): string {
  const expiration = new Date(Date.now() + durationSeconds * 1000).toISOString();
  return '<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>'
    + '<AssumedRoleUser><Arn>arn:aws:sts::111111111111:assumed-role/Role-A/s</Arn><AssumedRoleId>AROA3XFRBF535PLBIFPI4:s</AssumedRoleId></AssumedRoleUser>'
    + `<Credentials><AccessKeyId>${ISSUED.accessKeyId}</AccessKeyId><SecretAccessKey>${ISSUED.secretAccessKey}</SecretAccessKey>`
    + `<SessionToken>${ISSUED.sessionToken}</SessionToken><Expiration>${expiration}</Expiration></Credentials>`
    + '<PackedPolicySize>8</PackedPolicySize></AssumeRoleResult><ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata></AssumeRoleResponse>';
}

interface Seen { params: URLSearchParams; authorization: string }

class FaultProxy {
  fault: Fault = { kind: 'ok' };
  readonly seen: Seen[] = [];
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    res.on('error', () => undefined);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const params = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      this.seen.push({ params, authorization: req.headers.authorization ?? '' });
      const fault = this.fault;
      const xml = (status: number, body: string) =>
        res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': 'c6104cbe-af31-11e0-8154-cbc7ccf896c7' }).end(body);
      switch (fault.kind) {
        case 'ok': return xml(200, okXml(Number(params.get('DurationSeconds'))));
        case 'error': return xml(fault.status, stsXml(fault));
        case 'raw': return xml(fault.status, fault.body);
        case 'silent': return undefined; // never answers
        case 'reset': return req.socket.destroy();
      }
    });
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

// ---- wiring ----------------------------------------------------------------------------------

const savedEnv: Record<string, string | undefined> = {};
const AWS_ENV = {
  AWS_ACCESS_KEY_ID: BROKER_ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY: BROKER_SECRET_KEY,
  AWS_SESSION_TOKEN: undefined,
  AWS_PROFILE: undefined,
  AWS_EC2_METADATA_DISABLED: 'true',
};
let proxy: FaultProxy;
let dir: string;
let configPath: string;

beforeAll(async () => {
  // The SDK's default credential chain reads these when the client first signs.
  for (const [name, value] of Object.entries(AWS_ENV)) {
    savedEnv[name] = process.env[name];
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  proxy = new FaultProxy();
  await proxy.start();
  dir = mkdtempSync(join(tmpdir(), 'sts-broker-faults-'));
  configPath = join(dir, 'broker.yaml');
  // the fault proxy is plain http on loopback: allowed only with the config's explicit opt-in
  writeFileSync(configPath, configYaml({ allowInsecureLoopbackHttp: true }));
});

afterAll(async () => {
  await proxy.stop();
  rmSync(dir, { recursive: true, force: true });
  for (const [name, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

afterEach(() => {
  proxy.seen.length = 0;
  proxy.fault = { kind: 'ok' };
});

/** Production dependencies from the environment, as a Lambda cold start builds them; fresh per test. */
function deps(stsEndpoint: string = proxy.url): BrokerDeps {
  return coldStart({
    presigner: new S3Presigner(),
    env: {
      BROKER_CONFIG: configPath,
      BROKER_STS_ENDPOINT: stsEndpoint,
      BROKER_STS_TIMEOUT_MS: String(TIMEOUT_MS),
      BROKER_STS_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
    },
  });
}

async function vend(d: BrokerDeps = deps()): Promise<Invoked & { elapsed: number }> {
  const started = performance.now();
  const result = await invokeRoute(credentialsRoute, d, apiEvent({ method: 'POST', path: '/v1/credentials', headers: { 'x-api-key': ACME_KEY }, body: { actions: ['read'] } }));
  return { ...result, elapsed: performance.now() - started };
}

/** Nothing internal in the body: no broker secret, no ARN, no STS or SDK message; 5xx say only the generic line. */
function expectNothingLeaks({ res, body, lines }: Invoked, leaked: string[] = []): void {
  expect(res.statusCode).not.toBe(500);
  expect(Object.keys(body)).toEqual(['error']);
  for (const text of [BROKER_SECRET_KEY, BROKER_ACCESS_KEY_ID, 'arn:', 'Rate exceeded', 'AWS SDK', 'ECONNREFUSED', 'socket', ...leaked]) {
    expect(res.body).not.toContain(text);
  }
  if ((res.statusCode ?? 0) >= 500) {
    expect(body.error.message).toBe(`the broker could not complete the request (${body.error.code}); quote request id ${body.error.requestId}`);
  }
  for (const line of lines) expect(line).not.toContain(BROKER_SECRET_KEY);
}

const fault = (status: number, type: 'Sender' | 'Receiver', code: string, message: string): Fault => ({ kind: 'error', status, type, code, message });

describe('STS through a fault proxy, with the production wiring', () => {
  it('control: a normal answer vends the credentials, and the proxy saw exactly the scoped AssumeRole', async () => {
    const { res, body } = await vend();
    expect(res.statusCode).toBe(200);
    expect(body.credentials).toMatchObject({ accessKeyId: ISSUED.accessKeyId, secretAccessKey: ISSUED.secretAccessKey, sessionToken: ISSUED.sessionToken });
    expect(proxy.seen).toHaveLength(1);
    const [{ params, authorization }] = proxy.seen as [Seen];
    expect(params.get('Action')).toBe('AssumeRole');
    expect(params.get('RoleArn')).toBe('arn:aws:iam::111111111111:role/Role-A');
    expect(params.get('ExternalId')).toBe('acme-3f9c');
    expect(params.get('DurationSeconds')).toBe('3600');
    expect(JSON.parse(params.get('Policy')!).Statement[0].Resource).toBe('arn:aws:s3:::partner-bucket/acme/*');
    // signed with the broker's own credentials; the secret itself never travels
    expect(authorization).toContain(`Credential=${BROKER_ACCESS_KEY_ID}/`);
    expect(`${authorization} ${params.toString()}`).not.toContain(BROKER_SECRET_KEY);
  });

  it(`Throttling (HTTP 400) → 503 sts_throttled with Retry-After, after exactly ${MAX_ATTEMPTS} attempts`, async () => {
    proxy.fault = fault(400, 'Sender', 'Throttling', 'Rate exceeded');
    const result = await vend();
    expect([result.res.statusCode, result.body.error.code]).toEqual([503, 'sts_throttled']);
    expect(['1', '2']).toContain(result.res.headers['retry-after']);
    expect(proxy.seen).toHaveLength(MAX_ATTEMPTS);
    // the SDK backs throttling off by up to 1 s, then 2 s (jittered): bounded, not a hang
    expect(result.elapsed).toBeLessThan(3000 + 1500);
    expectNothingLeaks(result);
  }, 15_000);

  it('AccessDenied (HTTP 403) → 502 partner_role_not_assumable, not retried', async () => {
    const message = 'User: arn:aws:sts::999999999999:assumed-role/broker/fn is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111111111111:role/Role-A';
    proxy.fault = fault(403, 'Sender', 'AccessDenied', message);
    const result = await vend();
    expect([result.res.statusCode, result.body.error.code]).toEqual([502, 'partner_role_not_assumable']);
    expect(proxy.seen).toHaveLength(1);
    expectNothingLeaks(result, ['not authorized', '999999999999', 'Role-A']);
  });

  it('PackedPolicyTooLarge (HTTP 400) → 400 policy_too_large with a message for the caller, not retried', async () => {
    proxy.fault = fault(400, 'Sender', 'PackedPolicyTooLarge', 'Packed policy consumes 112% of allotted space, please use smaller policy for arn:aws:iam::111111111111:role/Role-A');
    const result = await vend();
    expect([result.res.statusCode, result.body.error.code]).toEqual([400, 'policy_too_large']);
    expect(result.body.error.message).toBe('the session policy and session tags exceed STS\'s packed size limit: request a narrower prefix or fewer actions');
    expect(proxy.seen).toHaveLength(1);
    expectNothingLeaks(result, ['112%']);
  });

  it(`InternalFailure (HTTP 500) → 503 sts_unavailable with Retry-After, after ${MAX_ATTEMPTS} attempts`, async () => {
    proxy.fault = fault(500, 'Receiver', 'InternalFailure', 'The request processing has failed because of an unknown error, exception or failure.');
    const result = await vend();
    expect([result.res.statusCode, result.body.error.code]).toEqual([503, 'sts_unavailable']);
    expect(result.res.headers['retry-after']).toBe('2');
    expect(proxy.seen).toHaveLength(MAX_ATTEMPTS);
    expectNothingLeaks(result, ['unknown error']);
  });

  it('the broker\'s own credentials refused (InvalidClientTokenId, HTTP 403) → 502 sts_error, not blamed on the partner', async () => {
    proxy.fault = fault(403, 'Sender', 'InvalidClientTokenId', 'The security token included in the request is invalid.');
    const result = await vend();
    expect([result.res.statusCode, result.body.error.code]).toEqual([502, 'sts_error']);
    expectNothingLeaks(result, ['security token']);
  });

  it('a malformed request (ValidationError, HTTP 400) → 502 sts_error', async () => {
    proxy.fault = fault(400, 'Sender', 'ValidationError', '1 validation error detected: Value at \'roleSessionName\' failed to satisfy constraint');
    const result = await vend();
    expect([result.res.statusCode, result.body.error.code]).toEqual([502, 'sts_error']);
    expectNothingLeaks(result, ['roleSessionName']);
  });

  it.each<[string, Fault]>([
    ['a 200 that is not XML', { kind: 'raw', status: 200, body: 'this is not xml <<<' }],
    ['a 200 without credentials', { kind: 'raw', status: 200, body: '<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult></AssumeRoleResult></AssumeRoleResponse>' }],
  ])('%s → 502 sts_error, never a 500', async (_name, f) => {
    proxy.fault = f;
    const result = await vend();
    expect([result.res.statusCode, result.body.error.code]).toEqual([502, 'sts_error']);
    expectNothingLeaks(result);
  });

  it('connection resets → an upstream 5xx (never a 500) after retries', async () => {
    proxy.fault = { kind: 'reset' };
    const result = await vend();
    // The SDK names ECONNRESET "TimeoutError" (sts_timeout, 504, in a Lambda); under jest's VM
    // modules it rewraps that cross-realm error as a plain "AWS SDK error wrapper for TimeoutError:
    // socket hang up" without name or code, which reads as sts_error (502). Either is an honest
    // upstream status; what must never happen is a 500 or a leak.
    expect([[502, 'sts_error'], [503, 'sts_unavailable'], [504, 'sts_timeout']]).toContainEqual([result.res.statusCode, result.body.error.code]);
    expect(proxy.seen).toHaveLength(MAX_ATTEMPTS);
    expectNothingLeaks(result, ['ECONNRESET', 'hang up']);
  });

  it('an unreachable endpoint (closed port) → 503 sts_unavailable with Retry-After, quickly', async () => {
    const closed = new FaultProxy();
    await closed.start();
    await closed.stop();
    const result = await vend(deps(closed.url));
    expect([result.res.statusCode, result.body.error.code]).toEqual([503, 'sts_unavailable']);
    expect(result.res.headers['retry-after']).toBe('2');
    expect(result.elapsed).toBeLessThan(MAX_ATTEMPTS * TIMEOUT_MS + 1500);
    expectNothingLeaks(result, [closed.url.replace('http://', '')]);
  });

  it(`a silent endpoint → 504 sts_timeout within ${MAX_ATTEMPTS} × ${TIMEOUT_MS} ms plus backoff (no hang)`, async () => {
    proxy.fault = { kind: 'silent' };
    const result = await vend();
    expect([result.res.statusCode, result.body.error.code]).toEqual([504, 'sts_timeout']);
    expect(proxy.seen).toHaveLength(MAX_ATTEMPTS);
    expect(result.elapsed).toBeGreaterThanOrEqual(MAX_ATTEMPTS * TIMEOUT_MS - 50);
    // each attempt waits TIMEOUT_MS; between attempts the SDK backs off ≤ 50·2^i ms (jittered)
    expect(result.elapsed).toBeLessThan(MAX_ATTEMPTS * TIMEOUT_MS + 150 + 1000);
    expectNothingLeaks(result, ['timed out']);
  }, 15_000);

  it('a presign route maps a fault the same way (the session cache does not swallow it)', async () => {
    proxy.fault = fault(400, 'Sender', 'Throttling', 'Rate exceeded');
    const d = deps();
    const started = performance.now();
    const result = await invokeRoute(uploadsRoute, d, apiEvent({
      method: 'POST', path: '/v1/uploads', headers: { 'x-api-key': ACME_KEY },
      body: { method: 'PUT', key: 'a.pdf', contentType: 'application/pdf', contentLength: 3 },
    }));
    expect(performance.now() - started).toBeLessThan(4500);
    expect([result.res.statusCode, result.body.error.code]).toEqual([503, 'sts_throttled']);
    expect(proxy.seen).toHaveLength(MAX_ATTEMPTS);
    expectNothingLeaks(result);
    // and once STS answers again, the same deps serve the upload (failures are not cached)
    proxy.fault = { kind: 'ok' };
    const retry = await invokeRoute(uploadsRoute, d, apiEvent({
      method: 'POST', path: '/v1/uploads', headers: { 'x-api-key': ACME_KEY },
      body: { method: 'PUT', key: 'a.pdf', contentType: 'application/pdf', contentLength: 3 },
    }));
    expect(retry.res.statusCode).toBe(200);
    expect(new URL(retry.body.url).searchParams.get('X-Amz-Security-Token')).toBe(ISSUED.sessionToken);
  }, 15_000);
});

describe('the request deadline: the function\'s remaining time bounds every STS attempt', () => {
  /** Production settings (3000 ms per attempt, 3 attempts: about 9 s plus backoff) unless overridden. */
  const productionDeps = () => coldStart({ presigner: new S3Presigner(), env: { BROKER_CONFIG: configPath, BROKER_STS_ENDPOINT: proxy.url } });

  async function vendWithin(remainingMs: number, d: BrokerDeps) {
    const context = { ...lambdaContext, getRemainingTimeInMillis: () => remainingMs };
    const event = apiEvent({ method: 'POST', path: '/v1/credentials', headers: { 'x-api-key': ACME_KEY }, body: { actions: ['read'] } });
    const started = performance.now();
    const { result } = await captureLogs(() => lambdaHandler(credentialsRoute, () => d)(event, context) as Promise<HttpResponse>);
    return { res: result, body: JSON.parse(result.body ?? 'null') as Record<string, any>, elapsed: performance.now() - started };
  }

  it('a silent STS with 1500 ms left answers 504 sts_timeout before the function would be killed, not 500', async () => {
    proxy.fault = { kind: 'silent' };
    const { res, body, elapsed } = await vendWithin(1500, productionDeps());
    expect([res.statusCode, body.error.code]).toEqual([504, 'sts_timeout']);
    // one attempt, cut at the budget (1500 ms less the 1000 ms margin); no retry started without time for it
    expect(proxy.seen).toHaveLength(1);
    expect(elapsed).toBeLessThan(1500);
  }, 15_000);

  it('with less than the margin left, STS is not called at all: 504 sts_timeout', async () => {
    proxy.fault = { kind: 'ok' };
    const { res, body } = await vendWithin(900, productionDeps());
    expect([res.statusCode, body.error.code]).toEqual([504, 'sts_timeout']);
    expect(proxy.seen).toHaveLength(0);
  });

  it('throttling retries stop when the budget cannot hold another attempt: the honest 503, no Lambda timeout', async () => {
    proxy.fault = fault(400, 'Sender', 'Throttling', 'Rate exceeded');
    // The SDK's throttling backoff is full jitter (Math.random × a 500 ms base): with the random draw
    // left free, two short draws fit all three attempts into the 400 ms budget about one run in six.
    // Pinned to the top of its range, the first backoff alone outlasts the budget, so the outcome is
    // deterministic: the guard refuses the next attempt.
    const random = jest.spyOn(Math, 'random').mockReturnValue(0.999);
    let outcome: Awaited<ReturnType<typeof vendWithin>>;
    try {
      outcome = await vendWithin(1400, productionDeps());
    } finally {
      random.mockRestore();
    }
    const { res, body, elapsed } = outcome;
    expect([503, 504]).toContain(res.statusCode);
    expect(['sts_throttled', 'sts_timeout']).toContain(body.error.code);
    expect(proxy.seen).toHaveLength(1);
    expect(proxy.seen.length).toBeLessThan(MAX_ATTEMPTS);
    expect(elapsed).toBeLessThan(1400);
  }, 15_000);

  it('plenty of time left: the same call succeeds (the control)', async () => {
    proxy.fault = { kind: 'ok' };
    const { res } = await vendWithin(10_000, productionDeps());
    expect(res.statusCode).toBe(200);
  });
});
