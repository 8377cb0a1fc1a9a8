import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { partnerSetup, rolePrefixes } from '../../src/policy/partnerSetup.js';
import { brokerConfig, configYaml } from '../support/configFixture.js';
import { simulate, validatePolicy } from '../support/iamSim.js';

const BROKER_ROLE = 'arn:aws:iam::999999999999:role/sts-broker-prod-eu-west-1-lambdaRole';

describe('partnerSetup', () => {
  const acme = brokerConfig().partners.acme!;

  it('reaches each client prefix up to its ${sub} segment, without redundant entries', () => {
    expect(rolePrefixes(acme)).toEqual(['acme/']);
    const split = { ...acme, clients: { ...acme.clients, backend: { ...acme.clients.backend!, prefix: 'acme/backend/' } } };
    expect(rolePrefixes(split)).toEqual(['acme/backend/', 'acme/users/']);
  });

  it('trusts only the broker role, with the ExternalId, and lets it tag sessions and set SourceIdentity', () => {
    const { roleTrustPolicy } = partnerSetup('acme', acme, BROKER_ROLE);
    expect(roleTrustPolicy).toEqual({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'BrokerAssumesRole', Effect: 'Allow', Principal: { AWS: BROKER_ROLE }, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'sts:ExternalId': 'acme-3f9c' } } },
        { Sid: 'BrokerTagsAndIdentifiesSessions', Effect: 'Allow', Principal: { AWS: BROKER_ROLE }, Action: ['sts:TagSession', 'sts:SetSourceIdentity'], Condition: { StringEquals: { 'aws:RequestTag/partner': 'acme' } } },
      ],
    });
  });

  it('grants the role its clients\' prefixes and actions only, as the IAM simulator confirms', async () => {
    const { rolePermissionPolicy } = partnerSetup('acme', acme, BROKER_ROLE);
    const json = JSON.stringify(rolePermissionPolicy);
    expect(validatePolicy(json)).toEqual([]);
    expect(await simulate(json, 's3:PutObject', 'arn:aws:s3:::partner-bucket/acme/users/x/photo.jpg')).toBe('Allowed');
    expect(await simulate(json, 's3:DeleteObject', 'arn:aws:s3:::partner-bucket/acme/a.pdf')).toBe('Allowed');
    expect(await simulate(json, 's3:GetObject', 'arn:aws:s3:::partner-bucket/acme2/a.pdf')).toBe('ImplicitlyDenied');
    expect(await simulate(json, 's3:GetObject', 'arn:aws:s3:::other-bucket/acme/a.pdf')).toBe('ImplicitlyDenied');
    expect(await simulate(json, 's3:ListBucket', 'arn:aws:s3:::partner-bucket', { 's3:prefix': 'acme/' })).toBe('Allowed');
    expect(await simulate(json, 's3:ListBucket', 'arn:aws:s3:::partner-bucket', { 's3:prefix': '' })).toBe('ImplicitlyDenied');
  });

  it('exposes ETag to browsers and aborts abandoned multipart uploads', () => {
    const { bucketCors, bucketLifecycle } = partnerSetup('acme', acme, BROKER_ROLE);
    expect(bucketCors).toMatchObject({ CORSRules: [{ AllowedOrigins: ['https://app.acme.example'], ExposeHeaders: ['ETag'] }] });
    expect(bucketLifecycle).toMatchObject({ Rules: [{ Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }] });
  });

  it('npm run partner-policy prints the documents for a configured partner and refuses an unknown one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'partner-policy-'));
    const file = join(dir, 'broker.yaml');
    writeFileSync(file, configYaml());
    const run = promisify(execFile);
    const { stdout } = await run('node_modules/.bin/tsx', ['scripts/partner-policy.ts', 'acme', '--config', file, '--broker-role-arn', BROKER_ROLE]);
    expect(stdout).toContain('aws iam update-assume-role-policy --role-name Role-A');
    expect(stdout).toContain('"sts:ExternalId": "acme-3f9c"');
    expect(stdout).toContain('"DaysAfterInitiation": 1');
    await expect(run('node_modules/.bin/tsx', ['scripts/partner-policy.ts', 'nobody', '--config', file])).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('no partner "nobody"') });
    await expect(run('node_modules/.bin/tsx', ['scripts/partner-policy.ts'])).rejects.toMatchObject({ code: 2 });
  });
});
