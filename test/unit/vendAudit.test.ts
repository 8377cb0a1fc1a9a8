/**
 * Audit lines map to CloudTrail: each names the AccessKeyId of the STS session it issued or that
 * signed the URL, which CloudTrail records in every S3 data event (userIdentity.accessKeyId). The
 * presign and multipart helpers hand the routes that id for their audit line.
 */
import { describe, expect, it } from '@jest/globals';
import { auditIssuance } from '../../src/usecases/audit.js';
import { multipartCall, presignSigning } from '../../src/usecases/session.js';
import { scopeForObject } from '../../src/rules/scope.js';
import { resolveGrant } from '../../src/usecases/resolveGrant.js';
import type { Caller } from '../../src/domain/model.js';
import { testDeps } from '../support/brokerDeps.js';
import { captureLogs } from '../support/captureLogs.js';
import { brokerConfig } from '../support/configFixture.js';

const CALLER: Caller = { partnerId: 'acme', clientId: 'backend', method: 'api-key', subject: 'acmek1', subjectSegment: 'acmek1' };
const START = Date.parse('2030-01-01T00:00:00Z');

/** The access key id a SigV4 query signature names (X-Amz-Credential = <id>/<date>/<region>/s3/aws4_request). */
const signingKeyOf = (url: string): string => new URL(url).searchParams.get('X-Amz-Credential')!.split('/')[0]!;

describe('presign and multipart helpers name the signing session', () => {
  it('presignSigning returns the AccessKeyId of the cached session that signs the URL, the same for every URL it signs', async () => {
    const { deps, issuer } = testDeps(brokerConfig(), { now: () => START });
    const grant = await resolveGrant(deps.store, CALLER);
    const first = await presignSigning(deps, CALLER, grant, { request: scopeForObject(grant, { action: 'read', relativeKey: 'a.pdf' }), expiresIn: 300 });
    const second = await presignSigning(deps, CALLER, grant, { request: scopeForObject(grant, { action: 'read', relativeKey: 'b.pdf' }), expiresIn: 300 });
    expect(issuer.issued).toHaveLength(1);
    expect(first.accessKeyId).toBe(issuer.issued[0]!.accessKeyId);
    expect(second.accessKeyId).toBe(first.accessKeyId);
    const { url } = await deps.presigner.presignGet(first.base);
    expect(signingKeyOf(url)).toBe(first.accessKeyId);
    // a different action is a different session, and says so
    const write = await presignSigning(deps, CALLER, grant, { request: scopeForObject(grant, { action: 'write', relativeKey: 'c.pdf' }), expiresIn: 300 });
    expect(write.accessKeyId).toBe(issuer.issued[1]!.accessKeyId);
    expect(write.accessKeyId).not.toBe(first.accessKeyId);
  });

  it('multipartCall returns the AccessKeyId of the session that makes the S3 call', async () => {
    const { deps, issuer } = testDeps(brokerConfig(), { now: () => START });
    const grant = await resolveGrant(deps.store, CALLER);
    const { call, accessKeyId } = await multipartCall(deps, CALLER, grant, scopeForObject(grant, { action: 'write', relativeKey: 'big.bin' }));
    expect(accessKeyId).toBe(call.credentials.accessKeyId);
    expect(accessKeyId).toBe(issuer.issued[0]!.accessKeyId);
  });
});

describe('auditIssuance', () => {
  it('writes accessKeyId beside sessionName, and nothing a detail could overwrite', async () => {
    const { deps } = testDeps(brokerConfig());
    const { lines } = await captureLogs(async () => {
      auditIssuance(deps.logger, {
        requestId: 'req-1',
        caller: CALLER,
        action: 'download',
        scope: { partition: 'aws', bucket: 'partner-bucket', prefix: 'acme/', actions: ['read'] },
        key: 'acme/a.pdf',
        sessionName: 'sbk-acme-backend-acmek1',
        accessKeyId: 'ASIAAUDITEXAMPLE0001',
        expiresAt: new Date(START),
        cachedSession: true,
        details: { accessKeyId: 'ASIAFORGED', sessionName: 'forged' },
      });
    });
    const line = JSON.parse(lines.find((l) => l.includes('"audit":true'))!) as Record<string, unknown>;
    expect(line).toMatchObject({
      message: 'issued', requestId: 'req-1', action: 'download', key: 'acme/a.pdf',
      sessionName: 'sbk-acme-backend-acmek1', accessKeyId: 'ASIAAUDITEXAMPLE0001', cachedSession: true,
    });
  });
});
