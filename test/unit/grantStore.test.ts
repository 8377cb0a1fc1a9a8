import { describe, expect, it } from '@jest/globals';
import { configHash } from '../../src/config/load.js';
import { ConfigError, InternalError, UnauthenticatedError } from '../../src/domain/errors.js';
import { YamlGrantStore } from '../../src/adapters/yamlGrantStore.js';
import { resolveGrant } from '../../src/usecases/resolveGrant.js';
import { encodeSubject } from '../../src/rules/subject.js';
import type { Caller } from '../../src/domain/model.js';
import { brokerConfig, FIXTURE_API_KEYS, FIXTURE_ISSUER, type Overrides } from '../support/configFixture.js';

const store = (overrides: Overrides = {}) => new YamlGrantStore(brokerConfig(overrides));

function jwtCaller(subject: string, overrides: Partial<Caller> = {}): Caller {
  return { partnerId: 'acme', clientId: 'app', method: 'jwt', subject, subjectSegment: encodeSubject(subject), ...overrides };
}
const apiKeyCaller: Caller = { partnerId: 'acme', clientId: 'backend', method: 'api-key', subject: 'acmek1', subjectSegment: 'acmek1' };

describe('YamlGrantStore', () => {
  it('finds an API key by id, with its owner', async () => {
    const found = await store().findApiKey(FIXTURE_API_KEYS.globexBackend.id);
    expect(found?.partnerId).toBe('globex');
    expect(found?.clientId).toBe('backend');
    expect(found?.key.id).toBe('globexk1');
  });

  it.each(['nope', 'constructor', '__proto__', 'toString'])('finds no API key for the id %j', async (id) => {
    expect(await store().findApiKey(id)).toBeUndefined();
  });

  it('finds JWT clients by exact issuer only', async () => {
    const s = store();
    expect((await s.findJwtClients(FIXTURE_ISSUER)).map((c) => [c.partnerId, c.clientId])).toEqual([['acme', 'app']]);
    expect(await s.findJwtClients(`${FIXTURE_ISSUER}/`)).toEqual([]);
    expect(await s.findJwtClients('HTTPS://ISSUER.EXAMPLE')).toEqual([]);
    expect(await s.findJwtClients('constructor')).toEqual([]);
  });

  it('returns a fresh list, so callers cannot change the index', async () => {
    const s = store();
    (await s.findJwtClients(FIXTURE_ISSUER)).pop();
    expect(await s.findJwtClients(FIXTURE_ISSUER)).toHaveLength(1);
  });

  it('finds partners by id and never through the prototype', async () => {
    const s = store();
    expect((await s.partner('acme'))?.bucket).toBe('partner-bucket');
    expect(await s.partner('nope')).toBeUndefined();
    expect(await s.partner('constructor')).toBeUndefined();
    expect(await s.partner('hasOwnProperty')).toBeUndefined();
  });

  it('allows exactly the origins some client lists', async () => {
    const s = store({ partners: { acme: { clients: { app: { cors: { origins: ['https://app.example.com'] } } } } } });
    expect(await s.isOriginAllowed('https://app.example.com')).toBe(true);
    expect(await s.isOriginAllowed('https://evil.example.com')).toBe(false);
    expect(await s.isOriginAllowed('constructor')).toBe(false);
  });

  it('reports the config hash', async () => {
    const config = brokerConfig();
    expect(await new YamlGrantStore(config).version()).toBe(configHash(config));
  });

  it('refuses a config object with a duplicate key id even when built without parseConfig', () => {
    const config = brokerConfig();
    config.partners.globex!.clients.backend!.apiKeys![0]!.id = 'acmek1';
    expect(() => new YamlGrantStore(config)).toThrow(ConfigError);
    expect(() => new YamlGrantStore(config)).toThrow('duplicate API key id "acmek1"');
  });
});

describe('resolveGrant', () => {
  it('resolves an API-key caller to its client grant', async () => {
    const grant = await resolveGrant(store(), apiKeyCaller);
    expect(grant).toMatchObject({ partnerId: 'acme', clientId: 'backend', partition: 'aws', prefix: 'acme/', maxDurationSeconds: 3600 });
    expect(grant.partner.bucket).toBe('partner-bucket');
    expect(grant.client.actions).toEqual(['read', 'write', 'list', 'delete']);
  });

  it('expands ${sub} with a safe subject as is', async () => {
    expect((await resolveGrant(store(), jwtCaller('alice'))).prefix).toBe('acme/users/alice/');
  });

  it('expands ${sub} with an encoded subject, so alice/x never lands inside alice/', async () => {
    const prefix = (await resolveGrant(store(), jwtCaller('alice/x'))).prefix;
    expect(prefix).toBe(`acme/users/${encodeSubject('alice/x')}/`);
    expect(prefix.startsWith('acme/users/alice/')).toBe(false);
  });

  it('takes the client\'s maxDurationSeconds over the partner\'s', async () => {
    expect((await resolveGrant(store(), jwtCaller('alice'))).maxDurationSeconds).toBe(900);
  });

  it('falls back to the partner\'s maxDurationSeconds', async () => {
    const caller: Caller = { partnerId: 'globex', clientId: 'backend', method: 'api-key', subject: 'globexk1', subjectSegment: 'globexk1' };
    expect((await resolveGrant(store({ partners: { globex: { maxDurationSeconds: 2700 } } }), caller)).maxDurationSeconds).toBe(2700);
  });

  it('takes the partition from the role ARN', async () => {
    const s = store({ partners: { acme: { roleArn: 'arn:aws-cn:iam::111111111111:role/Role-A', region: 'cn-north-1' } } });
    expect((await resolveGrant(s, apiKeyCaller)).partition).toBe('aws-cn');
  });

  it.each<[string, Partial<Caller>]>([
    ['an unknown partner', { partnerId: 'nope' }],
    ['an unknown client', { clientId: 'nope' }],
    ['a client id on Object.prototype', { clientId: 'constructor' }],
    ['a JWT caller for an API-key client', { clientId: 'backend' }],
  ])('refuses %s', async (_name, overrides) => {
    await expect(resolveGrant(store(), jwtCaller('alice', overrides))).rejects.toThrow(UnauthenticatedError);
    await expect(resolveGrant(store(), jwtCaller('alice', overrides))).rejects.toThrow('the credential does not belong to a configured client');
  });

  it('refuses an API-key caller for a JWT client', async () => {
    const caller: Caller = { ...apiKeyCaller, clientId: 'app' };
    await expect(resolveGrant(store(), caller)).rejects.toThrow(UnauthenticatedError);
    await expect(resolveGrant(store(), caller)).rejects.toThrow('the credential does not belong to a configured client');
  });

  it('refuses a subject segment that is not the encoding of the subject (an authenticator bug)', async () => {
    const caller = jwtCaller('alice/x', { subjectSegment: 'alice' });
    await expect(resolveGrant(store(), caller)).rejects.toThrow(InternalError);
    await expect(resolveGrant(store(), caller)).rejects.toThrow('caller.subjectSegment is not encodeSubject(caller.subject)');
  });
});
