/**
 * Metrics, log context and the audit channel, through the real request pipeline with real API Gateway
 * events: the EMF lines are parsed as CloudWatch would read them (namespace, metric names, units,
 * dimension sets), two invocations for different partners must not share a key, and audit lines
 * must be written whatever the broker's log level.
 */
import { describe, expect, it } from '@jest/globals';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { STSClient } from '@aws-sdk/client-sts';
import { StsCredentialIssuer } from '../../src/adapters/aws/sts.js';
import { ConfigError, StsThrottledError } from '../../src/domain/errors.js';
import { lambdaHandler } from '../../src/http/lambdaHandler.js';
import type { HttpResponse } from '../../src/http/responses.js';
import type { Route } from '../../src/http/route.js';
import { AUDIT_VERSION, auditChannelProblem, setAuditSink, writeAuditLine } from '../../src/observability/auditLog.js';
import { runInvocation } from '../../src/observability/invocation.js';
import { createLogger, startLoggerInvocation } from '../../src/observability/logger.js';
import { grantStoreCacheMetrics, readMetricsOptions } from '../../src/observability/metrics.js';
import { credentialsRoute } from '../../src/routes/credentials.js';
import { uploadsRoute } from '../../src/routes/uploads.js';
import { whoamiRoute } from '../../src/routes/whoami.js';
import type { BrokerDeps } from '../../src/usecases/deps.js';
import { meteredIssuer, meteredSessions } from '../../src/wiring/instrumented.js';
import { SessionCache } from '../../src/rules/sessionCache.js';
import { apiEvent, lambdaContext } from '../support/apiEvent.js';
import { testDeps } from '../support/brokerDeps.js';
import { captureLogs } from '../support/captureLogs.js';
import { brokerConfig, FIXTURE_API_KEYS } from '../support/configFixture.js';

const ACME_KEY = FIXTURE_API_KEYS.acmeBackend.key;
const GLOBEX_KEY = FIXTURE_API_KEYS.globexBackend.key;

type Line = Record<string, any>;
interface EmfLine extends Line {
  _aws: { Timestamp: number; CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> };
}

const parse = (lines: string[]): Line[] => lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Line);
const emfOf = (lines: string[]): EmfLine[] => parse(lines).filter((l): l is EmfLine => l._aws !== undefined);
const auditsOf = (lines: string[]): Line[] => parse(lines).filter((l) => l.audit === true);
const logLinesOf = (lines: string[]): Line[] => parse(lines).filter((l) => l._aws === undefined && l.audit !== true);

/** One metric as CloudWatch extracts it from an EMF line: name, unit, dimension names and values, data points. */
interface Extracted { name: string; unit: string; dimensions: Record<string, string>; values: number[] }
function extract(lines: string[]): Extracted[] {
  const found: Extracted[] = [];
  for (const line of emfOf(lines)) {
    for (const directive of line._aws.CloudWatchMetrics) {
      expect(directive.Namespace).toBe('StsBroker');
      for (const dimensionSet of directive.Dimensions) {
        for (const metric of directive.Metrics) {
          const raw = line[metric.Name] as number | number[];
          found.push({
            name: metric.Name,
            unit: metric.Unit,
            dimensions: Object.fromEntries(dimensionSet.map((d) => [d, line[d] as string])),
            values: Array.isArray(raw) ? raw : [raw],
          });
        }
      }
    }
  }
  return found;
}
const named = (metrics: Extracted[], name: string) => metrics.filter((m) => m.name === name);

/** testDeps, with the issuer and session cache metered as src/wiring/withAws.ts wires them. */
function meteredDeps(options: { logLevel?: string } = {}) {
  const { deps, issuer } = testDeps(brokerConfig());
  const metered = meteredIssuer(issuer);
  const wired: BrokerDeps = {
    ...deps,
    issuer: metered,
    sessions: meteredSessions(new SessionCache(metered, { maxEntries: 100, clock: deps.clock })),
    ...(options.logLevel === undefined ? {} : { logger: createLogger('sts-broker-test', { LOG_LEVEL: options.logLevel }) }),
  };
  return { deps: wired, issuer };
}

function handlerFor<I>(route: Route<I>, deps: BrokerDeps, env: Record<string, string | undefined> = {}) {
  const handler = lambdaHandler(route, () => deps, env);
  return async (event: APIGatewayProxyEventV2) => {
    const { result, lines } = await captureLogs(() => handler(event, lambdaContext) as Promise<HttpResponse>);
    return { res: result, body: JSON.parse(result.body ?? 'null') as Record<string, any>, lines };
  };
}

const upload = (key: string, apiKey: string = ACME_KEY) =>
  apiEvent({ method: 'POST', path: '/v1/uploads', headers: { 'x-api-key': apiKey }, body: { method: 'PUT', key, contentType: 'application/pdf', contentLength: 10 } });
const vend = (body: unknown, apiKey: string = ACME_KEY) => apiEvent({ method: 'POST', path: '/v1/credentials', headers: { 'x-api-key': apiKey }, body });

describe('metrics (EMF through Powertools Metrics)', () => {
  it('counts issuances by route, action and outcome, STS latency and the session cache, partner and client as properties only', async () => {
    const { deps } = meteredDeps();
    const invoke = handlerFor(uploadsRoute, deps);
    const first = await invoke(upload('a.pdf'));
    expect(first.res.statusCode).toBe(200);
    const metrics = extract(first.lines);

    expect(named(metrics, 'Issuances')).toEqual([{ name: 'Issuances', unit: 'Count', values: [1], dimensions: { service: 'sts-broker', route: uploadsRoute.id, action: 'upload:PUT', outcome: 'issued' } }]);
    expect(named(metrics, 'StsLatency')).toEqual([expect.objectContaining({ unit: 'Milliseconds', dimensions: { service: 'sts-broker' } })]);
    expect(named(metrics, 'StsLatency')[0]!.values[0]).toBeGreaterThanOrEqual(0);
    expect(named(metrics, 'SessionCacheMisses')).toEqual([{ name: 'SessionCacheMisses', unit: 'Count', values: [1], dimensions: { service: 'sts-broker' } }]);
    expect(named(metrics, 'SessionCacheHits')).toEqual([]);
    // partner, client and the request id are properties of every EMF line, never a dimension
    for (const line of emfOf(first.lines)) {
      expect(line).toMatchObject({ partner: 'acme', client: 'backend', requestId: expect.any(String) });
      expect(line._aws.CloudWatchMetrics.flatMap((d) => d.Dimensions.flat())).not.toEqual(expect.arrayContaining(['partner']));
      expect(line._aws.CloudWatchMetrics.flatMap((d) => d.Dimensions.flat())).not.toEqual(expect.arrayContaining(['client']));
      expect(JSON.stringify(line)).not.toContain('a.pdf'); // never an object key
    }

    // the same caller again: the cached session signs, no AssumeRole
    const second = await invoke(upload('b.pdf'));
    const again = extract(second.lines);
    expect(named(again, 'SessionCacheHits')).toEqual([expect.objectContaining({ values: [1] })]);
    expect(named(again, 'SessionCacheMisses')).toEqual([]);
    expect(named(again, 'StsLatency')).toEqual([]);
  });

  it('writes every metric of an invocation once, at its end, after the audit line', async () => {
    const { deps } = meteredDeps();
    const { lines } = await handlerFor(uploadsRoute, deps)(upload('a.pdf'));
    const kinds = parse(lines).map((l) => (l._aws ? 'emf' : l.audit ? 'audit' : 'log'));
    const firstEmf = kinds.indexOf('emf');
    expect(firstEmf).toBeGreaterThan(kinds.indexOf('audit'));
    expect(kinds.slice(firstEmf).every((k) => k === 'emf')).toBe(true);
    // one EMF line per dimension set: no two lines share one
    const sets = emfOf(lines).map((l) => JSON.stringify(l._aws.CloudWatchMetrics[0]!.Dimensions));
    expect(new Set(sets).size).toBe(sets.length);
  });

  it('counts refusals by error code, with the refused issuance of an authenticated caller', async () => {
    const { deps } = meteredDeps();
    const invoke = handlerFor(credentialsRoute, deps);
    const denied = await invoke(vend({ actions: ['write'] }, GLOBEX_KEY));
    expect(denied.body.error.code).toBe('outside_grant');
    const metrics = extract(denied.lines);
    expect(named(metrics, 'Refusals')).toEqual([{ name: 'Refusals', unit: 'Count', values: [1], dimensions: { service: 'sts-broker', route: credentialsRoute.id, ErrorCode: 'outside_grant' } }]);
    expect(named(metrics, 'Issuances')).toEqual([expect.objectContaining({ dimensions: { service: 'sts-broker', route: credentialsRoute.id, action: 'none', outcome: 'refused' } })]);

    const anonymous = await invoke(vend({}, 'sbk_nobody_' + 'c3'.repeat(32)));
    expect(anonymous.res.statusCode).toBe(401);
    const refused = extract(anonymous.lines);
    expect(named(refused, 'Refusals')).toEqual([expect.objectContaining({ dimensions: expect.objectContaining({ ErrorCode: 'unauthenticated' }) })]);
    expect(named(refused, 'Issuances')).toEqual([]); // nobody was authenticated
    expect(emfOf(anonymous.lines).every((l) => l.partner === undefined)).toBe(true);
  });

  it('counts STS errors by code, and a 5xx as a failed issuance', async () => {
    const { deps, issuer } = meteredDeps();
    issuer.failWith = new StsThrottledError('STS is throttling AssumeRole');
    const { res, lines } = await handlerFor(credentialsRoute, deps)(vend({}));
    expect(res.statusCode).toBe(503);
    const metrics = extract(lines);
    expect(named(metrics, 'StsErrors')).toEqual([{ name: 'StsErrors', unit: 'Count', values: [1], dimensions: { service: 'sts-broker', ErrorCode: 'sts_throttled' } }]);
    expect(named(metrics, 'Refusals')).toEqual([expect.objectContaining({ dimensions: expect.objectContaining({ ErrorCode: 'sts_throttled' }) })]);
    expect(named(metrics, 'Issuances')).toEqual([expect.objectContaining({ dimensions: expect.objectContaining({ outcome: 'failed' }) })]);
  });

  it('adds the partner as a dimension of Issuances and Refusals only when BROKER_METRICS_PARTNER_DIMENSION=true', async () => {
    const { deps } = meteredDeps();
    const { lines } = await handlerFor(uploadsRoute, deps, { BROKER_METRICS_PARTNER_DIMENSION: 'true' })(upload('a.pdf'));
    const metrics = extract(lines);
    expect(named(metrics, 'Issuances')[0]!.dimensions).toEqual({ service: 'sts-broker', route: uploadsRoute.id, action: 'upload:PUT', outcome: 'issued', partner: 'acme' });
    expect(named(metrics, 'SessionCacheMisses')[0]!.dimensions).toEqual({ service: 'sts-broker' });
    expect(readMetricsOptions({})).toEqual({ partnerDimension: false });
    expect(() => readMetricsOptions({ BROKER_METRICS_PARTNER_DIMENSION: 'yes' })).toThrow(/BROKER_METRICS_PARTNER_DIMENSION: must be true or false/);
    expect(() => lambdaHandler(uploadsRoute, () => deps, { BROKER_METRICS_PARTNER_DIMENSION: '1' })).toThrow(ConfigError);
  });

  it('gives the grant store a port for cache hits, misses and staleness', async () => {
    const { lines } = await captureLogs(async () => {
      const { flushInvocationMetrics } = await import('../../src/observability/metrics.js');
      const { currentInvocation } = await import('../../src/observability/invocation.js');
      runInvocation({ requestId: 'req-store', route: 'whoami' }, () => {
        grantStoreCacheMetrics.hit();
        grantStoreCacheMetrics.hit();
        grantStoreCacheMetrics.miss();
        grantStoreCacheMetrics.staleness(12.5);
        flushInvocationMetrics(currentInvocation()!, { partnerDimension: false });
      });
    });
    const metrics = extract(lines);
    expect(named(metrics, 'GrantStoreCacheHits')).toEqual([{ name: 'GrantStoreCacheHits', unit: 'Count', values: [1, 1], dimensions: { service: 'sts-broker' } }]);
    expect(named(metrics, 'GrantStoreCacheMisses')).toEqual([expect.objectContaining({ unit: 'Count', values: [1] })]);
    expect(named(metrics, 'GrantStoreStaleness')).toEqual([expect.objectContaining({ unit: 'Seconds', values: [12.5] })]);
    // outside an invocation there is nothing to attribute a point to, and nothing is written
    const outside = await captureLogs(async () => { grantStoreCacheMetrics.hit(); });
    expect(emfOf(outside.lines)).toEqual([]);
  });
});

describe('log context', () => {
  it('puts the Lambda context and the API Gateway request id on every line, and partner and client only after authentication', async () => {
    const { deps, issuer } = meteredDeps();
    issuer.failWith = new StsThrottledError('STS is throttling AssumeRole');
    const event = vend({});
    const { lines } = await handlerFor(credentialsRoute, deps)(event);
    const failed = logLinesOf(lines).find((l) => l.message === 'request failed')!;
    expect(failed).toMatchObject({
      correlation_id: event.requestContext.requestId,
      partner: 'acme',
      client: 'backend',
      function_name: lambdaContext.functionName,
      function_request_id: lambdaContext.awsRequestId,
      cold_start: expect.any(Boolean),
    });
  });

  it('clears partner and client at the start of every invocation: two invocations for different partners share no key', async () => {
    const { deps } = meteredDeps({ logLevel: 'DEBUG' });
    // something appended a key to the shared logger during the first invocation
    const invoke = handlerFor(credentialsRoute, deps);
    const acme = await invoke(vend({ actions: ['write'] }));
    deps.logger.appendKeys({ leftover: 'from-acme' });
    const globex = await invoke(vend({ actions: ['write'] }, GLOBEX_KEY));
    const anonymous = await invoke(vend({}, 'sbk_nobody_' + 'c3'.repeat(32)));

    const refusedLine = (lines: string[]) => logLinesOf(lines).find((l) => l.message === 'request refused')!;
    expect(refusedLine(acme.lines)).toMatchObject({ partner: 'acme', client: 'backend' });
    expect(refusedLine(globex.lines)).toMatchObject({ partner: 'globex', client: 'backend' });
    const nobody = refusedLine(anonymous.lines);
    expect(nobody.code).toBe('unauthenticated');
    expect(nobody).not.toHaveProperty('partner');
    expect(nobody).not.toHaveProperty('client');
    for (const line of [...logLinesOf(globex.lines), ...logLinesOf(anonymous.lines)]) {
      expect(JSON.stringify(line)).not.toContain('acme');
      expect(line).not.toHaveProperty('leftover');
    }
    // and each line's correlation id is its own request's
    expect(new Set([acme, globex, anonymous].map((r) => refusedLine(r.lines).correlation_id)).size).toBe(3);
  });

  it('concurrent invocations in one process keep their own partner and request id', async () => {
    const { deps, issuer } = meteredDeps();
    issuer.failWith = new StsThrottledError('STS is throttling AssumeRole');
    const handler = lambdaHandler(credentialsRoute, () => deps, {});
    const events = [vend({}), vend({ actions: ['read'] }, GLOBEX_KEY), vend({}), vend({ actions: ['read'] }, GLOBEX_KEY)];
    const { lines } = await captureLogs(() => Promise.all(events.map((e) => handler(e, lambdaContext))));
    const failures = logLinesOf(lines).filter((l) => l.message === 'request failed');
    expect(failures).toHaveLength(4);
    const expected = new Map(events.map((e, i) => [e.requestContext.requestId, i % 2 === 0 ? 'acme' : 'globex']));
    for (const line of failures) expect(line.partner).toBe(expected.get(line.correlation_id));
  });

  it('draws debug sampling afresh per invocation when POWERTOOLS_LOGGER_SAMPLE_RATE is set, and leaves the level alone when it is not', async () => {
    const saved = process.env.POWERTOOLS_LOGGER_SAMPLE_RATE;
    try {
      // Powertools reads the rate from process.env; the broker's own check reads the env it is given.
      process.env.POWERTOOLS_LOGGER_SAMPLE_RATE = '1';
      const sampled = createLogger('sts-broker', { LOG_LEVEL: 'INFO', POWERTOOLS_LOGGER_SAMPLE_RATE: '1' });
      // Powertools' first redraw is a no-op (the cold start already drew); the second samples at rate 1.
      startLoggerInvocation(sampled, lambdaContext);
      startLoggerInvocation(sampled, lambdaContext);
      expect(sampled.getLevelName()).toBe('DEBUG');

      delete process.env.POWERTOOLS_LOGGER_SAMPLE_RATE;
      for (const rate of [undefined, '', '0']) {
        const plain = createLogger('sts-broker', { LOG_LEVEL: 'INFO', ...(rate === undefined ? {} : { POWERTOOLS_LOGGER_SAMPLE_RATE: rate }) });
        let redraws = 0;
        const original = plain.refreshSampleRateCalculation.bind(plain);
        plain.refreshSampleRateCalculation = () => { redraws += 1; original(); };
        plain.appendKeys({ leftover: 'x' });
        startLoggerInvocation(plain, lambdaContext);
        startLoggerInvocation(plain, lambdaContext);
        expect(redraws).toBe(0);
        expect(plain.getLevelName()).toBe('INFO');
        // the other two steps still run: keys cleared, Lambda context added
        const [probe] = parse((await captureLogs(async () => { plain.info('probe'); })).lines);
        expect(probe).toMatchObject({ message: 'probe', function_request_id: lambdaContext.awsRequestId });
        expect(probe).not.toHaveProperty('leftover');
      }
    } finally {
      if (saved === undefined) delete process.env.POWERTOOLS_LOGGER_SAMPLE_RATE;
      else process.env.POWERTOOLS_LOGGER_SAMPLE_RATE = saved;
    }
  });

  it('the STS adapter\'s failure line carries the request id without knowing it', async () => {
    const { deps } = meteredDeps();
    const failing = {
      middlewareStack: { add: () => undefined },
      send: () => Promise.reject(Object.assign(new Error('not authorized'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403, requestId: 'sts-req-1' } })),
    } as unknown as STSClient;
    const sts = meteredIssuer(new StsCredentialIssuer({ timeoutMs: 1000, maxAttempts: 1, logger: deps.logger, clientFor: () => failing }));
    const wired: BrokerDeps = { ...deps, issuer: sts, sessions: meteredSessions(new SessionCache(sts, { maxEntries: 10, clock: deps.clock })) };
    const event = vend({});
    const { res, lines } = await handlerFor(credentialsRoute, wired)(event);
    expect(res.statusCode).toBe(502);
    const stsLine = logLinesOf(lines).find((l) => l.message === 'sts AssumeRole failed')!;
    expect(stsLine).toMatchObject({ correlation_id: event.requestContext.requestId, partner: 'acme', client: 'backend' });
    expect(named(extract(lines), 'StsErrors')).toEqual([expect.objectContaining({ dimensions: { service: 'sts-broker', ErrorCode: 'partner_role_not_assumable' } })]);
  });
});

describe('audit channel', () => {
  it('writes issuance and refusal audit lines at LOG_LEVEL=ERROR, while the logger drops its INFO lines', async () => {
    const { deps, issuer } = meteredDeps({ logLevel: 'ERROR' });
    const invoke = handlerFor(credentialsRoute, deps);
    const issued = await invoke(vend({}));
    expect(issued.res.statusCode).toBe(200);
    const denied = await invoke(vend({ actions: ['write'] }, GLOBEX_KEY));
    expect(denied.res.statusCode).toBe(403);

    const [line] = auditsOf(issued.lines);
    expect(auditsOf(issued.lines)).toHaveLength(1);
    expect(line).toMatchObject({
      level: 'INFO', message: 'issued', audit: true, auditVersion: AUDIT_VERSION, event: 'issued', service: 'sts-broker',
      requestId: expect.any(String), partner: 'acme', client: 'backend', method: 'api-key', subject: 'acmek1', action: 'credentials',
      bucket: 'partner-bucket', accessKeyId: issuer.issued[0]!.accessKeyId,
    });
    expect(new Date(line!.timestamp as string).toISOString()).toBe(line!.timestamp);
    expect(auditsOf(denied.lines)).toEqual([expect.objectContaining({
      level: 'INFO', auditVersion: 1, event: 'refused', message: 'refused', partner: 'globex', client: 'backend',
      route: credentialsRoute.id, code: 'outside_grant', status: 403,
    })]);
    // the logger really is at ERROR: its INFO line for the refusal is gone
    expect(logLinesOf(denied.lines).filter((l) => l.message === 'request refused')).toEqual([]);
    // never a secret on an audit line
    const all = [...issued.lines, ...denied.lines].join('\n');
    for (const secret of [issuer.issued[0]!.secretAccessKey, issuer.issued[0]!.sessionToken, ACME_KEY, GLOBEX_KEY]) expect(all).not.toContain(secret);
  });

  it('keeps the header fixed: no field or detail can set level, audit, auditVersion or event; fields win over details', () => {
    const written: string[] = [];
    const previous = setAuditSink((line) => { written.push(line); });
    try {
      writeAuditLine('issued', { requestId: 'r1', key: 'a "quoted"\nkey', level: 'DEBUG', accessKeyId: undefined }, { level: 'TRACE', audit: false, auditVersion: 9, event: 'refused', key: 'forged', accessKeyId: 'ASIADETAIL', uploadId: 'u1' });
      writeAuditLine('refused', {});
      // no details: a field still cannot overwrite the header, and undefined values are still left out
      writeAuditLine('issued', { level: 'DEBUG', requestId: 'r2', event: 'refused', sessionName: undefined });
    } finally {
      setAuditSink(previous);
    }
    expect(written.every((l) => l.endsWith('}\n') && !l.slice(0, -1).includes('\n'))).toBe(true);
    const [issued, bare] = written.slice(0, 2).map((l) => JSON.parse(l) as Line);
    expect(issued).toEqual({
      level: 'INFO', timestamp: expect.any(String), service: 'sts-broker', message: 'issued', audit: true, auditVersion: 1, event: 'issued',
      requestId: 'r1', key: 'a "quoted"\nkey', accessKeyId: 'ASIADETAIL', uploadId: 'u1',
    });
    expect(Object.keys(issued!).slice(0, 7)).toEqual(['level', 'timestamp', 'service', 'message', 'audit', 'auditVersion', 'event']);
    expect(bare).toEqual({ level: 'INFO', timestamp: expect.any(String), service: 'sts-broker', message: 'refused', audit: true, auditVersion: 1, event: 'refused' });
    expect(written[2]).not.toContain('DEBUG');
    expect(JSON.parse(written[2]!)).toEqual({ level: 'INFO', timestamp: expect.any(String), service: 'sts-broker', message: 'issued', audit: true, auditVersion: 1, event: 'issued', requestId: 'r2' });
  });

  it('writes no audit line for an unauthenticated caller or a route without issuance', async () => {
    const { deps } = meteredDeps();
    const anonymous = await handlerFor(credentialsRoute, deps)(vend({}, 'sbk_nobody_' + 'c3'.repeat(32)));
    expect(auditsOf(anonymous.lines)).toEqual([]);
    const whoami = await handlerFor(whoamiRoute, deps)(apiEvent({ method: 'GET', path: '/v1/whoami', headers: { 'x-api-key': ACME_KEY } }));
    expect(whoami.res.statusCode).toBe(200);
    expect(auditsOf(whoami.lines)).toEqual([]);
  });

  it('refuses to start where Lambda would drop INFO lines (JSON format, application level above INFO), and only there', () => {
    const { deps } = meteredDeps();
    for (const level of ['WARN', 'ERROR', 'FATAL', 'warn']) {
      const env = { AWS_LAMBDA_LOG_FORMAT: 'JSON', AWS_LAMBDA_LOG_LEVEL: level };
      expect(auditChannelProblem(env)).toMatch(/would drop the INFO-level audit lines/);
      expect(() => captureLogsSync(() => lambdaHandler(credentialsRoute, () => deps, env))).toThrow(ConfigError);
    }
    for (const env of [
      {},
      { AWS_LAMBDA_LOG_FORMAT: 'JSON', AWS_LAMBDA_LOG_LEVEL: 'INFO' },
      { AWS_LAMBDA_LOG_FORMAT: 'JSON', AWS_LAMBDA_LOG_LEVEL: 'DEBUG' },
      { AWS_LAMBDA_LOG_FORMAT: 'Text', AWS_LAMBDA_LOG_LEVEL: 'ERROR' }, // Lambda filters nothing in the Text format
      { AWS_LAMBDA_LOG_FORMAT: 'JSON' },
      { LOG_LEVEL: 'ERROR' }, // the broker's own level never touches the audit channel
    ]) {
      expect(auditChannelProblem(env)).toBeUndefined();
      expect(() => lambdaHandler(credentialsRoute, () => deps, env)).not.toThrow();
    }
  });
});

/** Runs `fn` with stdout/stderr silenced (the refusal to start logs an error line). */
function captureLogsSync<T>(fn: () => T): T {
  const write = process.stdout.write;
  const writeErr = process.stderr.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return fn();
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
  }
}
