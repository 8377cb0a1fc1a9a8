/**
 * doctor's pure half (src/rules/partnerDiagnosis.ts): what each client's grant needs, how an STS or
 * S3 error is decoded, and how the bucket's CORS, lifecycle and policy are read against the clients.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  bucketPolicyFindings, bucketReadFinding, clientPlan, corsFindings, corsOriginMatches, deniedAction, diagnoseAssumeRole,
  diagnoseS3, diagnosticSessionPolicy, doctorIdentity, DOCTOR_EXIT, DOCTOR_SUBJECT, lifecycleFindings, renderReport, summarise,
  type Finding,
} from '../../src/rules/partnerDiagnosis.js';
import { partnerSetup } from '../../src/rules/partnerSetup.js';
import { SESSION_NAME_PATTERN } from '../../src/rules/limits.js';
import { brokerConfig } from '../support/configFixture.js';
import { simulate, validatePolicy } from '../support/iamSim.js';

const acme = brokerConfig().partners.acme!;
const DENIED = { name: 'AccessDenied', status: 403 };
const ctx = { partnerId: 'acme', roleArn: acme.roleArn, externalId: true, durationSeconds: 3600 };

describe('clientPlan', () => {
  it('expands ${sub} to the doctor subject and writes a test object only with write and delete', () => {
    const backend = clientPlan(acme, 'backend', 'x1');
    expect(backend).toMatchObject({ prefix: 'acme/', actions: ['read', 'write', 'list', 'delete'], durationSeconds: 3600 });
    expect(backend.probe).toEqual({ relativeKey: `${DOCTOR_SUBJECT}-x1.txt`, contentType: 'application/pdf', body: expect.any(Buffer) });
    const app = clientPlan(acme, 'app', 'x1');
    expect(app).toMatchObject({ prefix: `acme/users/${DOCTOR_SUBJECT}/`, durationSeconds: 900, noProbeReason: expect.stringContaining('not delete') });
    expect(app.probe).toBeUndefined();
  });

  it('follows the upload contract: an allowed content type, never more than maxUploadBytes', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 200 }), fc.constantFrom(['text/plain', 'image/png'], ['image/png'], ['TEXT/PLAIN']), (max, types) => {
      const partner = brokerConfig({ partners: { acme: { clients: { backend: { maxUploadBytes: max, contentTypes: types } } } } }).partners.acme!;
      const { probe } = clientPlan(partner, 'backend', 's');
      expect(probe!.body.length).toBeLessThanOrEqual(max);
      expect(probe!.body.length).toBeGreaterThan(0);
      expect(types.map((t) => t.toLowerCase())).toContain(probe!.contentType);
    }));
  });
});

describe('sessions', () => {
  it('names sessions like the broker (sb.<partner>.<client>.<subject>), valid for STS, tagged with the partner', () => {
    const id = doctorIdentity('acme', 'backend');
    expect(id.roleSessionName).toBe(`sb.acme.backend.${DOCTOR_SUBJECT}`);
    expect(id.sourceIdentity).toBe(id.roleSessionName);
    expect(id.tags).toEqual([{ key: 'partner', value: 'acme' }, { key: 'client', value: 'backend' }, { key: 'subject', value: DOCTOR_SUBJECT }]);
    const long = doctorIdentity('a'.repeat(32), 'b'.repeat(32));
    expect(long.roleSessionName).toMatch(SESSION_NAME_PATTERN);
    expect(doctorIdentity('acme').tags.map((t) => t.key)).toEqual(['partner', 'subject']);
  });

  it('the partner-wide session may read the three bucket settings and no object', async () => {
    const policy = diagnosticSessionPolicy(acme);
    expect(validatePolicy(policy)).toEqual([]);
    for (const action of ['s3:GetBucketCORS', 's3:GetLifecycleConfiguration', 's3:GetBucketPolicy']) {
      expect(await simulate(policy, action, 'arn:aws:s3:::partner-bucket')).toBe('Allowed');
    }
    expect(await simulate(policy, 's3:GetObject', 'arn:aws:s3:::partner-bucket/acme/a')).toBe('ImplicitlyDenied');
    expect(await simulate(policy, 's3:ListBucket', 'arn:aws:s3:::partner-bucket')).toBe('ImplicitlyDenied');
  });
});

describe('diagnoseAssumeRole', () => {
  const message = 'User: arn:aws:sts::999:assumed-role/broker/s is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111111111111:role/Role-A';

  it('with an ExternalId configured: a mismatch is the likely cause, named with the partner', () => {
    const f = diagnoseAssumeRole({ ...DENIED, message }, ctx);
    expect(f.status).toBe('fail');
    expect(f.message).toContain('partner_role_not_assumable');
    expect(f.causes![0]).toMatch(/ExternalId in the config for partner acme differs/);
    expect(f.causes!.join('\n')).toMatch(/does not exist/);
  });

  it('without one: the role may require an ExternalId the config lacks', () => {
    const f = diagnoseAssumeRole({ ...DENIED, message }, { ...ctx, externalId: false });
    expect(f.causes![0]).toMatch(/requires an sts:ExternalId, and the config has none for partner acme/);
  });

  it('names sts:TagSession / sts:SetSourceIdentity first when the message does', () => {
    for (const action of ['sts:TagSession', 'sts:SetSourceIdentity']) {
      const f = diagnoseAssumeRole({ ...DENIED, message: `User: x is not authorized to perform: ${action} on resource: y` }, ctx);
      expect(f.message).toContain(`AccessDenied on ${action}`);
      expect(f.causes![0]).toContain(`does not allow ${action}`);
    }
    expect(deniedAction('no action here')).toBeUndefined();
  });

  it('tells the operator\'s own credentials, the network, and the session length apart from the partner\'s trust', () => {
    expect(diagnoseAssumeRole({ name: 'InvalidClientTokenId', status: 403, message: '' }, ctx).causes![0]).toMatch(/no valid AWS credentials/);
    expect(diagnoseAssumeRole({ name: 'Error', status: undefined, message: 'connect ECONNREFUSED 127.0.0.1:1', codes: ['ECONNREFUSED'] }, ctx).message).toMatch(/could not be reached/);
    const long = diagnoseAssumeRole({ name: 'ValidationError', status: 400, message: 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.' }, ctx);
    expect(long.causes![0]).toMatch(/MaxSessionDuration to at least 3600 s/);
  });

  it('never repeats the service message (it may name other accounts\' ARNs)', () => {
    const f = diagnoseAssumeRole({ ...DENIED, message }, ctx);
    expect(JSON.stringify(f)).not.toContain('assumed-role/broker');
  });
});

describe('diagnoseS3', () => {
  const s3ctx = { clientId: 'beta', prefix: 'dB/', bucket: 'b', roleArn: acme.roleArn, partition: 'aws' };
  it('an AccessDenied names the client, the prefix and the missing action', () => {
    const f = diagnoseS3({ ...DENIED, message: 'Access Denied' }, { ...s3ctx, check: 'write' });
    expect(f).toMatchObject({ check: 'write', status: 'fail', client: 'beta', prefix: 'dB/' });
    expect(f.message).toBe('client beta cannot write under "dB/": s3:PutObject denied (AccessDenied (HTTP 403))');
    expect(f.causes![0]).toContain('s3:PutObject on arn:aws:s3:::b/dB/*');
    expect(diagnoseS3({ ...DENIED, message: '' }, { ...s3ctx, check: 'list' }).causes![0]).toContain('s3:ListBucket on arn:aws:s3:::b (s3:prefix "dB/")');
    expect(diagnoseS3({ ...DENIED, message: 'denied by KMS key policy' }, { ...s3ctx, check: 'write' }).causes![0]).toMatch(/KMS/);
    expect(diagnoseS3({ name: 'NoSuchBucket', status: 404, message: '' }, { ...s3ctx, check: 'list' }).message).toMatch(/does not exist/);
  });

  it('a denied bucket-setting read is "not checked", not a failure', () => {
    expect(bucketReadFinding('cors', { ...DENIED, message: '' })).toMatchObject({ status: 'skip', message: expect.stringMatching(/^not checked: .*s3:GetBucketCORS/) });
    expect(bucketReadFinding('lifecycle', { name: 'InternalError', status: 500, message: '' }).status).toBe('fail');
  });
});

describe('CORS', () => {
  const partner = brokerConfig({ partners: { acme: { clients: { app: { actions: ['read', 'write', 'delete'] } } } } }).partners.acme!;
  const clients = { app: partner.clients.app! };
  const ours = partnerSetup('acme', partner, 'arn:aws:iam::9:role/b').bucketCors!.CORSRules;

  it('the rule partner-policy writes satisfies every check', () => {
    expect(corsFindings(ours as never, clients)).toEqual([expect.objectContaining({ status: 'ok', client: 'app' })]);
  });

  it('no configuration, another origin, or no content-type header fails for the browser client', () => {
    expect(corsFindings(undefined, clients)[0]).toMatchObject({ status: 'fail', message: expect.stringMatching(/^the bucket has no CORS configuration: GET from https:\/\/app.acme.example/) });
    expect(corsFindings([{ AllowedOrigins: ['https://other.example'], AllowedMethods: ['GET', 'PUT'] }], clients)[0]!.status).toBe('fail');
    const noHeader = corsFindings([{ AllowedOrigins: ['https://app.acme.example'], AllowedMethods: ['GET', 'PUT', 'POST'], ExposeHeaders: ['ETag'] }], clients)[0]!;
    expect(noHeader).toMatchObject({ status: 'fail', message: expect.stringContaining('PUT with header content-type') });
  });

  it('missing POST or ETag only warns; wildcards match as S3 matches them', () => {
    const f = corsFindings([{ AllowedOrigins: ['https://*.acme.example'], AllowedMethods: ['GET', 'PUT'], AllowedHeaders: ['*'] }], clients)[0]!;
    expect(f).toMatchObject({ status: 'warn', message: expect.stringMatching(/POST .*ETag/) });
    expect(corsOriginMatches('*', 'https://a')).toBe(true);
    expect(corsOriginMatches('https://*.x', 'https://.x')).toBe(true);
    expect(corsOriginMatches('https://*.x', 'https://x')).toBe(false);
  });

  it('clients without origins need nothing', () => {
    expect(corsFindings(undefined, { backend: acme.clients.backend! })).toEqual([expect.objectContaining({ status: 'ok' })]);
  });
});

describe('lifecycle', () => {
  const ids = ['backend', 'app'];
  it('the rules partner-policy writes cover every writing client', () => {
    const rules = partnerSetup('acme', acme, 'arn:aws:iam::9:role/b').bucketLifecycle.Rules;
    expect(lifecycleFindings(rules as never, acme, ids)).toEqual([expect.objectContaining({ status: 'ok', message: expect.stringContaining('"acme/"') })]);
  });

  it('none, a disabled rule, a tag-filtered rule or another prefix warns and names the uncovered prefix', () => {
    const abort = { AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } };
    for (const rules of [undefined, [{ ...abort, Status: 'Disabled', Filter: { Prefix: '' } }], [{ ...abort, Status: 'Enabled', Filter: { Tag: { Key: 'a', Value: 'b' } } }], [{ ...abort, Status: 'Enabled', Filter: { Prefix: 'other/' } }]]) {
      expect(lifecycleFindings(rules, acme, ids)).toEqual([expect.objectContaining({ status: 'warn', message: expect.stringContaining('"acme/"') })]);
    }
    expect(lifecycleFindings([{ ...abort, Status: 'Enabled', Filter: {} }], acme, ids)[0]!.status).toBe('ok');
  });

  it('no writing client needs no rule', () => {
    expect(lifecycleFindings(undefined, brokerConfig().partners.globex!, ['backend'])[0]!.status).toBe('ok');
  });
});

describe('bucket policy', () => {
  const policy = (statements: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
  it('an unconditional Deny reaching a prefix warns; a conditional one is listed; others are ignored', () => {
    const deny = { Sid: 'NoAcme', Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: 'arn:aws:s3:::partner-bucket/acme/*' };
    expect(bucketPolicyFindings(policy([deny]), 'partner-bucket', ['acme/'])[0]).toMatchObject({ status: 'warn', message: expect.stringContaining('"NoAcme" (unconditional)') });
    const tls = { ...deny, Sid: 'TlsOnly', Resource: 'arn:aws:s3:::partner-bucket/*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } };
    expect(bucketPolicyFindings(policy([tls]), 'partner-bucket', ['acme/'])[0]).toMatchObject({ status: 'ok', message: expect.stringContaining('"TlsOnly" (conditional)') });
    expect(bucketPolicyFindings(policy([{ ...deny, Resource: 'arn:aws:s3:::partner-bucket/other/*' }]), 'partner-bucket', ['acme/'])[0]!.status).toBe('ok');
    expect(bucketPolicyFindings(undefined, 'partner-bucket', ['acme/'])[0]!.message).toBe('the bucket has no bucket policy');
  });
});

describe('the report', () => {
  const base = { partner: 'acme', roleArn: acme.roleArn, bucket: 'partner-bucket', region: 'eu-west-1', clients: ['backend'] };
  const ok: Finding = { check: 'list', status: 'ok', client: 'backend', prefix: 'acme/', message: 'listed' };

  it('exit codes: 0 without failures (warnings and skips allowed), 1 with any failure', () => {
    expect(summarise({ ...base, findings: [ok, { check: 'cors', status: 'skip', message: 'not checked' }] })).toMatchObject({ result: 'ok', exitCode: DOCTOR_EXIT.ok });
    expect(summarise({ ...base, findings: [ok, { check: 'lifecycle', status: 'warn', message: 'w' }] })).toMatchObject({ result: 'warnings', exitCode: 0 });
    expect(summarise({ ...base, findings: [ok, { ...ok, status: 'fail' }] })).toMatchObject({ result: 'failed', exitCode: DOCTOR_EXIT.failed });
  });

  it('prints every finding, the causes of failures, the counts, and the optional statement when a read was refused', () => {
    const report = summarise({ ...base, findings: [ok, { ...ok, check: 'write', status: 'fail', message: 'denied', causes: ['the reason'] }, bucketReadFinding('cors', { ...DENIED, message: '' })] });
    const text = renderReport(report);
    expect(text).toMatch(/OK {4}backend +list +listed/);
    expect(text).toMatch(/FAIL {2}backend +write +denied\n +- the reason/);
    expect(text).toContain('result: failed (1 failed, 0 warnings, 1 OK, 1 not checked); exit 1');
    expect(text).toContain('"s3:GetBucketCORS"');
    expect(renderReport(summarise({ ...base, findings: [ok] }))).not.toContain('s3:GetBucketCORS');
  });
});
