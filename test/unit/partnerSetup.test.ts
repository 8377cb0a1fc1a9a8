import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { isLoopbackHost } from '../../src/rules/loopback.js';
import { CORS_RULE_ID, LIFECYCLE_RULE_ID_PREFIX, partnerSetup, rolePrefixes } from '../../src/rules/partnerSetup.js';
import { brokerConfig } from '../support/configFixture.js';
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

  it('exposes ETag to browsers in a rule with its own ID, and aborts abandoned multipart uploads under the broker prefixes only', () => {
    const { bucketCors, bucketLifecycle } = partnerSetup('acme', acme, BROKER_ROLE);
    expect(bucketCors).toMatchObject({ CORSRules: [{ ID: CORS_RULE_ID, AllowedOrigins: ['https://app.acme.example'], ExposeHeaders: ['ETag'] }] });
    expect(bucketLifecycle).toEqual({
      Rules: [{ ID: LIFECYCLE_RULE_ID_PREFIX, Status: 'Enabled', Filter: { Prefix: 'acme/' }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }],
    });
  });

  it('one lifecycle rule per broker prefix (the literal part before ${sub}), never the whole bucket unless a prefix starts with ${sub}', () => {
    const split = { ...acme, clients: { ...acme.clients, backend: { ...acme.clients.backend!, prefix: 'acme/backend/' } } };
    const rules = partnerSetup('acme', split, BROKER_ROLE).bucketLifecycle.Rules as Array<{ ID: string; Filter: { Prefix: string } }>;
    expect(rules.map((r) => r.Filter.Prefix)).toEqual(['acme/backend/', 'acme/users/']);
    expect(new Set(rules.map((r) => r.ID)).size).toBe(2);
    expect(rules.every((r) => r.ID.startsWith(LIFECYCLE_RULE_ID_PREFIX))).toBe(true);
    const whole = { ...acme, clients: { app: { ...acme.clients.app!, prefix: '${sub}/' } } };
    const setup = partnerSetup('acme', whole, BROKER_ROLE);
    expect(setup.bucketLifecycle.Rules).toMatchObject([{ Filter: { Prefix: '' } }]);
    expect(setup.notes.join('\n')).toContain('cover the whole bucket');
  });

  it('no CORS rule at all when no client has origins (not an empty CORSRules list)', () => {
    const none = { ...acme, clients: { ...acme.clients, app: { ...acme.clients.app!, cors: { origins: [] } } } };
    expect(partnerSetup('acme', none, BROKER_ROLE).bucketCors).toBeUndefined();
  });

  it.each([
    ['*', false], ['https://*.acme.example', false], ['null', false], ['https://app.acme.example/', false],
    ['https://app.acme.example/path', false], ['http://app.acme.example', false], ['HTTPS://App.acme.example', false],
    ['https://app.acme.example:443', false], ['https://u:p@app.acme.example', false], ['file:///etc', false],
    ['http://127.0.0.1:3000', false], ['http://localhost:5173', false], ['https://app.acme.example:8443', true],
    ['https://app.acme.example', true],
  ])('CORS origin %j is emitted: %s', (origin, emitted) => {
    const app = { ...acme.clients.app!, cors: { origins: [origin] } };
    const setup = partnerSetup('acme', { ...acme, clients: { ...acme.clients, app } }, BROKER_ROLE);
    expect(setup.bucketCors?.CORSRules[0]).toEqual(emitted ? expect.objectContaining({ AllowedOrigins: [origin] }) : undefined);
    if (!emitted) expect(setup.notes.join('\n')).toContain(`partners.acme.clients.app.cors.origins ${JSON.stringify(origin)}`);
  });

  it('loopback http origins only with allowInsecureLoopbackHttp', () => {
    const app = { ...acme.clients.app!, cors: { origins: ['http://127.0.0.1:3000', 'http://localhost:5173', 'http://[::1]:8080', 'http://10.0.0.1'] } };
    const setup = partnerSetup('acme', { ...acme, clients: { app } }, BROKER_ROLE, { allowInsecureLoopbackHttp: true });
    expect(setup.bucketCors?.CORSRules[0]).toMatchObject({ AllowedOrigins: ['http://127.0.0.1:3000', 'http://localhost:5173', 'http://[::1]:8080'] });
  });

  it('property: every emitted AllowedOrigin is an exact https origin (loopback http only when allowed), never "*" or "null", never a path', () => {
    const origin = fc.oneof(
      fc.webUrl({ withQueryParameters: true, withFragments: true }),
      fc.webUrl().map((u) => new URL(u).origin),
      fc.constantFrom('*', 'null', 'https://*.x.example', 'http://127.0.0.1:8080', 'http://localhost', 'http://[::1]:1', 'https://a.example/'),
      fc.string(),
      fc.tuple(fc.constantFrom('http://', 'https://', 'HTTPS://', 'ftp://', '//'), fc.domain(), fc.constantFrom('', '/', '/p', ':443', ':80', ':8443', '?q')).map((p) => p.join('')),
    );
    fc.assert(fc.property(fc.array(origin, { maxLength: 6 }), fc.boolean(), (origins, allowLoopback) => {
      const app = { ...acme.clients.app!, cors: { origins } };
      const setup = partnerSetup('acme', { ...acme, clients: { app } }, BROKER_ROLE, { allowInsecureLoopbackHttp: allowLoopback });
      const emitted = (setup.bucketCors?.CORSRules[0] as { AllowedOrigins: string[] } | undefined)?.AllowedOrigins ?? [];
      if (setup.bucketCors !== undefined) expect(emitted.length).toBeGreaterThan(0);
      for (const o of emitted) {
        expect(o).not.toContain('*');
        const url = new URL(o);
        expect(url.origin).toBe(o);
        expect(url.protocol === 'https:' || (allowLoopback && url.protocol === 'http:' && isLoopbackHost(url.hostname))).toBe(true);
      }
      expect(emitted.length + setup.notes.length).toBeGreaterThanOrEqual(new Set(origins).size);
    }), { numRuns: 300 });
  }, 60_000);
});
