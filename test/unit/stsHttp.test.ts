import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type TestServer } from '../support/loopbackServer.js';
import { STSClient } from '@aws-sdk/client-sts';
import { PolicyTooLargeError, StsThrottledError, StsTimeoutError, StsUnavailableError } from '../../src/domain/errors.js';
import { StsCredentialIssuer } from '../../src/adapters/aws/sts.js';
import type { AssumeRoleRequest } from '../../src/domain/model.js';

const EXPIRATION = new Date('2030-01-01T00:15:00Z');
const ROLE_MESSAGE = 'partner "acme" role could not be assumed: check the role trust policy names the broker role, the ExternalId, sts:TagSession and sts:SetSourceIdentity';

function request(stsEndpoint: string): AssumeRoleRequest {
  return {
    partnerId: 'acme',
    roleArn: 'arn:aws:iam::111111111111:role/Role-A',
    roleSessionName: 'sbk-acme-backend-k1',
    sourceIdentity: 'acme.backend.k1',
    policy: '{"Version":"2012-10-17","Statement":[]}',
    durationSeconds: 900,
    tags: [],
    region: 'ap-northeast-1',
    stsEndpoint,
  };
}

/**
 * The real SDK (no mock) against a loopback server that answers like STS or like the local gateway:
 * proves the error shapes the table above assumes, the timeout wiring and the retry of throttling.
 */
describe('StsCredentialIssuer over HTTP (real SDK, loopback server)', () => {
  let server: TestServer;
  let endpoint: string;
  let respond: (res: ServerResponse) => void;
  let hits = 0;

  beforeAll(async () => {
    server = await serve((req, res) => {
      hits += 1;
      req.resume();
      req.on('end', () => respond(res));
    });
    endpoint = server.url;
  });
  afterAll(() => server.close());
  beforeEach(() => {
    hits = 0;
  });

  function issuer(maxAttempts = 2): StsCredentialIssuer {
    return new StsCredentialIssuer({
      timeoutMs: 300,
      maxAttempts,
      clientFor: (region, ep) => new STSClient({
        region,
        ...(ep === undefined ? {} : { endpoint: ep }),
        maxAttempts,
        retryMode: 'standard',
        credentials: { accessKeyId: 'AKIDBROKER', secretAccessKey: 'broker-secret' },
        requestHandler: { connectionTimeout: 300, requestTimeout: 300, throwOnRequestTimeout: true },
      }),
    });
  }

  function xml(status: number, body: string): (res: ServerResponse) => void {
    return (res) => {
      res.writeHead(status, { 'content-type': 'text/xml' });
      res.end(body);
    };
  }

  it('maps a real AssumeRole response', async () => {
    respond = xml(200, '<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>ASIA1</AccessKeyId><SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken><Expiration>2030-01-01T00:15:00Z</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>');
    await expect(issuer().assumeRole(request(endpoint))).resolves.toEqual({ accessKeyId: 'ASIA1', secretAccessKey: 's', sessionToken: 't', expiration: EXPIRATION });
  });

  it('retries Throttling (HTTP 400) up to maxAttempts, then answers StsThrottledError', async () => {
    respond = xml(400, '<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>');
    await expect(issuer(2).assumeRole(request(endpoint))).rejects.toThrow(StsThrottledError);
    expect(hits).toBe(2);
  });

  it('reads the local gateway\'s S3-style 403 (SDK name "Unknown") as a role that cannot be assumed', async () => {
    respond = xml(403, '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message></Message><RequestId>tx1</RequestId></Error>');
    await expect(issuer().assumeRole(request(endpoint))).rejects.toThrow(ROLE_MESSAGE);
    expect(hits).toBe(1);
  });

  it('reads PackedPolicyTooLarge as a 400 for the caller', async () => {
    respond = xml(400, '<ErrorResponse><Error><Type>Sender</Type><Code>PackedPolicyTooLarge</Code><Message>Packed policy consumes 112% of allotted space</Message></Error></ErrorResponse>');
    await expect(issuer().assumeRole(request(endpoint))).rejects.toThrow(PolicyTooLargeError);
  });

  it('gives up on a silent endpoint after the timeout (per attempt) with StsTimeoutError', async () => {
    respond = () => undefined;
    const started = Date.now();
    await expect(issuer(1).assumeRole(request(endpoint))).rejects.toThrow(StsTimeoutError);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('answers StsUnavailableError when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(issuer(1).assumeRole(request(`http://127.0.0.1:${port}`))).rejects.toThrow(StsUnavailableError);
  });
});
