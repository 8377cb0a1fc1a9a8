import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AssumeRoleCommand, ExpiredTokenException, MalformedPolicyDocumentException, PackedPolicyTooLargeException,
  RegionDisabledException, STSClient, STSServiceException,
} from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import {
  BrokerError, InvalidRequestError, PartnerRoleNotAssumableError, PolicyTooLargeError, StsThrottledError,
  StsTimeoutError, StsUnavailableError, StsUpstreamError,
} from '../../src/domain/errors.js';
import { StsCredentialIssuer, type StsLogger } from '../../src/adapters/aws/sts.js';
import { mapStsError } from '../../src/adapters/aws/stsErrors.js';
import { createLogger } from '../../src/observability/logger.js';
import type { AssumeRoleRequest } from '../../src/domain/model.js';

const POLICY = '{"Version":"2012-10-17","Statement":[{"Sid":"Objects","Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::partner-bucket/acme/*"}]}';
const EXPIRATION = new Date('2030-01-01T00:15:00Z');
/** Planted in upstream error messages: none of it may reach a BrokerError message. */
const LEAKY = 'User: arn:aws:sts::222222222222:assumed-role/broker-role/fn is not authorized; secret wJalrXUtnFEMI/K7MDENG';

function request(overrides: Partial<AssumeRoleRequest> = {}): AssumeRoleRequest {
  return {
    partnerId: 'acme',
    roleArn: 'arn:aws:iam::111111111111:role/Role-A',
    roleSessionName: 'sbk-acme-backend-k1',
    sourceIdentity: 'acme.backend.k1',
    externalId: 'acme-3f9c',
    policy: POLICY,
    durationSeconds: 900,
    tags: [{ key: 'partner', value: 'acme' }, { key: 'subject', value: 'k1' }],
    region: 'ap-northeast-1',
    ...overrides,
  };
}

const stsMock = mockClient(STSClient);
beforeEach(() => {
  stsMock.reset();
});
afterAll(() => stsMock.restore());

function okResponse(): { Credentials: { AccessKeyId: string; SecretAccessKey: string; SessionToken: string; Expiration: Date } } {
  return { Credentials: { AccessKeyId: 'ASIAEXAMPLE', SecretAccessKey: 'secret', SessionToken: 'token', Expiration: EXPIRATION } };
}

describe('StsCredentialIssuer: the exact AssumeRole input', () => {
  it('sends exactly the request fields, with ExternalId, and maps the credentials', async () => {
    stsMock.on(AssumeRoleCommand).resolves(okResponse());
    const issuer = new StsCredentialIssuer({ timeoutMs: 1000, maxAttempts: 3 });
    await expect(issuer.assumeRole(request())).resolves.toEqual({
      accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token', expiration: EXPIRATION,
    });
    const calls = stsMock.commandCalls(AssumeRoleCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toStrictEqual({
      RoleArn: 'arn:aws:iam::111111111111:role/Role-A',
      RoleSessionName: 'sbk-acme-backend-k1',
      SourceIdentity: 'acme.backend.k1',
      ExternalId: 'acme-3f9c',
      Policy: POLICY,
      DurationSeconds: 900,
      Tags: [{ Key: 'partner', Value: 'acme' }, { Key: 'subject', Value: 'k1' }],
    });
  });

  it('omits ExternalId entirely when the partner has none', async () => {
    stsMock.on(AssumeRoleCommand).resolves(okResponse());
    const { externalId: _omitted, ...withoutExternalId } = request();
    await new StsCredentialIssuer({ timeoutMs: 1000, maxAttempts: 1 }).assumeRole({ ...withoutExternalId, durationSeconds: 3600 });
    const input = stsMock.commandCalls(AssumeRoleCommand)[0]?.args[0].input;
    expect(input).toStrictEqual({
      RoleArn: 'arn:aws:iam::111111111111:role/Role-A',
      RoleSessionName: 'sbk-acme-backend-k1',
      SourceIdentity: 'acme.backend.k1',
      Policy: POLICY,
      DurationSeconds: 3600,
      Tags: [{ Key: 'partner', Value: 'acme' }, { Key: 'subject', Value: 'k1' }],
    });
    expect(input !== undefined && 'ExternalId' in input).toBe(false);
  });

  it('refuses to call STS without a session policy', async () => {
    const issuer = new StsCredentialIssuer({ timeoutMs: 1000, maxAttempts: 1 });
    await expect(issuer.assumeRole(request({ policy: '' }))).rejects.toThrow('refusing AssumeRole without a session policy');
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(0);
  });

  it.each([
    ['no Credentials', {}],
    ['no SessionToken', { Credentials: { ...okResponse().Credentials, SessionToken: undefined } }],
    ['no Expiration', { Credentials: { ...okResponse().Credentials, Expiration: undefined } }],
    ['an invalid Expiration', { Credentials: { ...okResponse().Credentials, Expiration: new Date('nope') } }],
  ])('answers StsUpstreamError when STS returns %s', async (_label, response) => {
    stsMock.on(AssumeRoleCommand).resolves(response);
    const attempt = new StsCredentialIssuer({ timeoutMs: 1000, maxAttempts: 1 }).assumeRole(request());
    await expect(attempt).rejects.toThrow(StsUpstreamError);
    await expect(attempt).rejects.toThrow('STS answered AssumeRole for partner "acme" without complete credentials');
  });

  it('keeps one client per (region, endpoint), created lazily', async () => {
    stsMock.on(AssumeRoleCommand).resolves(okResponse());
    const made: string[] = [];
    const issuer = new StsCredentialIssuer({
      timeoutMs: 1000,
      maxAttempts: 1,
      clientFor: (region, endpoint) => {
        made.push(`${region} ${endpoint ?? '-'}`);
        return new STSClient({ region, ...(endpoint === undefined ? {} : { endpoint }) });
      },
    });
    expect(made).toEqual([]);
    await issuer.assumeRole(request());
    await issuer.assumeRole(request());
    await issuer.assumeRole(request({ stsEndpoint: 'https://sts.ap-northeast-1.amazonaws.com' }));
    await issuer.assumeRole(request({ region: 'eu-west-1' }));
    await issuer.assumeRole(request({ stsEndpoint: 'https://sts.ap-northeast-1.amazonaws.com' }));
    expect(made).toEqual(['ap-northeast-1 -', 'ap-northeast-1 https://sts.ap-northeast-1.amazonaws.com', 'eu-west-1 -']);
  });

  it('logs a failure with its code and status, and throws the mapped error', async () => {
    const entries: Array<[string, Record<string, unknown>]> = [];
    const logger: StsLogger = { warn: (message, attributes) => entries.push([message, attributes]) };
    stsMock.on(AssumeRoleCommand).rejects(serviceError('AccessDenied', 403));
    const attempt = new StsCredentialIssuer({ timeoutMs: 1000, maxAttempts: 1, logger }).assumeRole(request());
    await expect(attempt).rejects.toThrow(PartnerRoleNotAssumableError);
    expect(entries).toEqual([['sts AssumeRole failed', expect.objectContaining({ partnerId: 'acme', code: 'partner_role_not_assumable', errorName: 'AccessDenied', httpStatusCode: 403 })]]);
  });

  it('accepts the Powertools logger as its logger', () => {
    const logger: StsLogger = createLogger('test');
    expect(typeof logger.warn).toBe('function');
  });

  it.each([
    [{ timeoutMs: 0, maxAttempts: 1 }, 'timeoutMs must be a positive integer'],
    [{ timeoutMs: 1.5, maxAttempts: 1 }, 'timeoutMs must be a positive integer'],
    [{ timeoutMs: 1000, maxAttempts: 0 }, 'maxAttempts must be an integer ≥ 1'],
  ])('refuses mistyped options %j', (options, message) => {
    expect(() => new StsCredentialIssuer(options)).toThrow(message);
  });
});

function serviceError(name: string, status: number | undefined, message = LEAKY): STSServiceException {
  return new STSServiceException({ name, $fault: status !== undefined && status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message });
}

function nodeError(code: string): Error {
  return Object.assign(new Error(`connect ${code} ${LEAKY}`), { code });
}

const ROLE_MESSAGE = 'partner "acme" role could not be assumed: check the role trust policy names the broker role, the ExternalId, sts:TagSession and sts:SetSourceIdentity';

type Row = [label: string, err: unknown, cls: new (...args: never[]) => BrokerError, code: string, status: number, message: string];

const TABLE: Row[] = [
  ['Throttling (400)', serviceError('Throttling', 400, 'Rate exceeded'), StsThrottledError, 'sts_throttled', 503, 'STS is throttling AssumeRole for partner "acme"'],
  ['ThrottlingException', serviceError('ThrottlingException', 400), StsThrottledError, 'sts_throttled', 503, 'STS is throttling AssumeRole for partner "acme"'],
  ['429, unnamed', serviceError('Unknown', 429), StsThrottledError, 'sts_throttled', 503, 'STS is throttling AssumeRole for partner "acme"'],
  ['"Rate exceeded", unnamed 400', serviceError('Unknown', 400, 'Rate exceeded'), StsThrottledError, 'sts_throttled', 503, 'STS is throttling AssumeRole for partner "acme"'],
  ['AccessDenied (403)', serviceError('AccessDenied', 403), PartnerRoleNotAssumableError, 'partner_role_not_assumable', 502, ROLE_MESSAGE],
  ['403 from the local gateway (name Unknown)', serviceError('Unknown', 403, 'UnknownError'), PartnerRoleNotAssumableError, 'partner_role_not_assumable', 502, ROLE_MESSAGE],
  ['NoSuchEntity (404)', serviceError('NoSuchEntity', 404), PartnerRoleNotAssumableError, 'partner_role_not_assumable', 502, ROLE_MESSAGE],
  ['404 from the local gateway (name NotFound)', serviceError('NotFound', 404, 'Unknown'), PartnerRoleNotAssumableError, 'partner_role_not_assumable', 502, ROLE_MESSAGE],
  ['PackedPolicyTooLarge (SDK class)', new PackedPolicyTooLargeException({ $metadata: { httpStatusCode: 400 }, message: LEAKY }), PolicyTooLargeError, 'policy_too_large', 400,
    "the session policy and session tags exceed STS's packed size limit: request a narrower prefix or fewer actions"],
  ['PackedPolicyTooLarge (wire code)', serviceError('PackedPolicyTooLarge', 400), PolicyTooLargeError, 'policy_too_large', 400,
    "the session policy and session tags exceed STS's packed size limit: request a narrower prefix or fewer actions"],
  ['RegionDisabledException (403)', new RegionDisabledException({ $metadata: { httpStatusCode: 403 }, message: LEAKY }), StsUpstreamError, 'sts_error', 502, 'STS is not activated in partner "acme"\'s region'],
  ['ExpiredTokenException: the broker\'s own credentials', new ExpiredTokenException({ $metadata: { httpStatusCode: 400 }, message: LEAKY }), StsUpstreamError, 'sts_error', 502, "STS refused the broker's own credentials (ExpiredTokenException)"],
  ['InvalidClientTokenId (403): the broker\'s own credentials', serviceError('InvalidClientTokenId', 403), StsUpstreamError, 'sts_error', 502, "STS refused the broker's own credentials (InvalidClientTokenId)"],
  ['ValidationError (400)', serviceError('ValidationError', 400), StsUpstreamError, 'sts_error', 502, 'STS rejected AssumeRole for partner "acme" (ValidationError)'],
  ['MalformedPolicyDocument (400)', new MalformedPolicyDocumentException({ $metadata: { httpStatusCode: 400 }, message: LEAKY }), StsUpstreamError, 'sts_error', 502, 'STS rejected AssumeRole for partner "acme" (MalformedPolicyDocumentException)'],
  ['unnamed 400', serviceError('Unknown', 400, 'UnknownError'), StsUpstreamError, 'sts_error', 502, 'STS rejected AssumeRole for partner "acme" (Unknown)'],
  ['a non-Error value', 'boom', StsUpstreamError, 'sts_error', 502, 'STS rejected AssumeRole for partner "acme" (Unknown)'],
  ['TimeoutError', Object.assign(new Error(LEAKY), { name: 'TimeoutError', code: 'ETIMEDOUT' }), StsTimeoutError, 'sts_timeout', 504, 'STS did not answer in time for partner "acme"'],
  ['RequestTimeout', serviceError('RequestTimeout', 408), StsTimeoutError, 'sts_timeout', 504, 'STS did not answer in time for partner "acme"'],
  ['AbortError', Object.assign(new Error(LEAKY), { name: 'AbortError' }), StsTimeoutError, 'sts_timeout', 504, 'STS did not answer in time for partner "acme"'],
  ['ETIMEDOUT', nodeError('ETIMEDOUT'), StsTimeoutError, 'sts_timeout', 504, 'STS did not answer in time for partner "acme"'],
  ['ECONNREFUSED', nodeError('ECONNREFUSED'), StsUnavailableError, 'sts_unavailable', 503, 'STS could not be reached for partner "acme"'],
  ['ENOTFOUND', nodeError('ENOTFOUND'), StsUnavailableError, 'sts_unavailable', 503, 'STS could not be reached for partner "acme"'],
  ['EAI_AGAIN', nodeError('EAI_AGAIN'), StsUnavailableError, 'sts_unavailable', 503, 'STS could not be reached for partner "acme"'],
  ['ECONNREFUSED inside an AggregateError', new AggregateError([nodeError('ECONNREFUSED')], LEAKY), StsUnavailableError, 'sts_unavailable', 503, 'STS could not be reached for partner "acme"'],
  ['ECONNREFUSED rewrapped by the SDK (code lost)', new Error('AWS SDK error wrapper for Error: connect ECONNREFUSED 127.0.0.1:1'), StsUnavailableError, 'sts_unavailable', 503, 'STS could not be reached for partner "acme"'],
  ['InternalFailure (500)', serviceError('InternalFailure', 500), StsUnavailableError, 'sts_unavailable', 503, 'STS is unavailable for partner "acme"'],
  ['unnamed 503', serviceError('Unknown', 503), StsUnavailableError, 'sts_unavailable', 503, 'STS is unavailable for partner "acme"'],
];

describe('mapStsError: one case per row', () => {
  it.each(TABLE)('%s', (_label, err, cls, code, status, message) => {
    const mapped = mapStsError(err, 'acme');
    expect(mapped).toBeInstanceOf(cls);
    expect(mapped.code).toBe(code);
    expect(mapped.status).toBe(status);
    expect(mapped.message).toBe(message);
    expect(mapped.cause).toBe(err);
    expect(mapped.message).not.toMatch(/arn:|secret|wJalr|222222222222/);
  });

  it('asks throttled callers to retry after 1–2 s, and unavailable ones after 2 s', () => {
    const waits = new Set(Array.from({ length: 50 }, () => mapStsError(serviceError('Throttling', 400), 'acme').retryAfterSeconds));
    expect([...waits].every((s) => s === 1 || s === 2)).toBe(true);
    expect(mapStsError(nodeError('ECONNREFUSED'), 'acme').retryAfterSeconds).toBe(2);
    expect(mapStsError(serviceError('InternalFailure', 500), 'acme').retryAfterSeconds).toBe(2);
    expect(mapStsError(nodeError('ETIMEDOUT'), 'acme').retryAfterSeconds).toBeUndefined();
  });

  it('passes a BrokerError through untouched', () => {
    const err = new InvalidRequestError('already mapped');
    expect(mapStsError(err, 'acme')).toBe(err);
  });

  it('keeps odd error names out of the message', () => {
    expect(mapStsError(serviceError('<script>arn:aws:x', 400), 'acme').message).toBe('STS rejected AssumeRole for partner "acme" (Unknown)');
  });

  it('routes the error through the issuer too', async () => {
    stsMock.on(AssumeRoleCommand).rejects(serviceError('Throttling', 400, 'Rate exceeded'));
    await expect(new StsCredentialIssuer({ timeoutMs: 1000, maxAttempts: 1 }).assumeRole(request())).rejects.toThrow(StsThrottledError);
  });
});
