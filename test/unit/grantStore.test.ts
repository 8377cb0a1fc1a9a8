import { describe, expect, it } from '@jest/globals';
import { configHash } from '../../src/config/load.js';
import { ConfigError, InternalError, UnauthenticatedError } from '../../src/domain/errors.js';
import { ConfigGrantStore } from '../../src/adapters/yamlGrantStore.js';
import { resolveGrant } from '../../src/usecases/resolveGrant.js';
import { encodeSubject } from '../../src/rules/subject.js';
import type { Caller } from '../../src/ports/ports.js';
import { brokerConfig, FIXTURE_API_KEYS, FIXTURE_ISSUER, type Overrides } from '../support/configFixture.js';

const store = (overrides: Overrides = {}) => new ConfigGrantStore(brokerConfig(overrides));

function jwtCaller(subject: string, overrides: Partial<Caller> = {}): Caller {
  return { partnerId: 'acme', clientId: 'app', method: 'jwt', subject, subjectSegment: encodeSubject(subject), ...overrides };
}
const apiKeyCaller: Caller = { partnerId: 'acme', clientId: 'backend', method: 'api-key', subject: 'acmek1', subjectSegment: 'acmek1' };

describe('ConfigGrantStore', () => {
  it('finds an API key by id, with its owner', () => {
    const found = store().findApiKey(FIXTURE_API_KEYS.globexBackend.id);
    expect(found?.partnerId).toBe('globex');
    expect(found?.clientId).toBe('backend');
    expect(found?.entry.id).toBe('globexk1');
  });

  it.each(['nope', 'constructor', '__proto__', 'toString'])('finds no API key for the id %j', (id) => {
    expect(store().findApiKey(id)).toBeUndefined();
  });

  it('finds JWT clients by exact issuer only', () => {
    const s = store();
    expect(s.findJwtClients(FIXTURE_ISSUER).map((c) => [c.partnerId, c.clientId])).toEqual([['acme', 'app']]);
    expect(s.findJwtClients(`${FIXTURE_ISSUER}/`)).toEqual([]);
    expect(s.findJwtClients('HTTPS://ISSUER.EXAMPLE')).toEqual([]);
    expect(s.findJwtClients('constructor')).toEqual([]);
  });

  it('returns a fresh list, so callers cannot change the index', () => {
    const s = store();
    s.findJwtClients(FIXTURE_ISSUER).pop();
    expect(s.findJwtClients(FIXTURE_ISSUER)).toHaveLength(1);
  });

  it('finds partners by id and never through the prototype', () => {
    const s = store();
    expect(s.partner('acme')?.bucket).toBe('partner-bucket');
    expect(s.partner('nope')).toBeUndefined();
    expect(s.partner('constructor')).toBeUndefined();
    expect(s.partner('hasOwnProperty')).toBeUndefined();
  });

  it('reports the config hash', () => {
    const config = brokerConfig();
    expect(new ConfigGrantStore(config).configHash).toBe(configHash(config));
  });

  it('refuses a config object with a duplicate key id even when built without parseConfig', () => {
    const config = brokerConfig();
    config.partners.globex!.clients.backend!.apiKeys![0]!.id = 'acmek1';
    expect(() => new ConfigGrantStore(config)).toThrow(ConfigError);
    expect(() => new ConfigGrantStore(config)).toThrow('duplicate API key id "acmek1"');
  });
});

describe('resolveGrant', () => {
  it('resolves an API-key caller to its client grant', () => {
    const grant = resolveGrant(store(), apiKeyCaller);
    expect(grant).toMatchObject({ partnerId: 'acme', clientId: 'backend', partition: 'aws', prefix: 'acme/', maxDurationSeconds: 3600 });
    expect(grant.partner.bucket).toBe('partner-bucket');
    expect(grant.client.actions).toEqual(['read', 'write', 'list', 'delete']);
  });

  it('expands ${sub} with a safe subject as is', () => {
    expect(resolveGrant(store(), jwtCaller('alice')).prefix).toBe('acme/users/alice/');
  });

  it('expands ${sub} with an encoded subject, so alice/x never lands inside alice/', () => {
    const prefix = resolveGrant(store(), jwtCaller('alice/x')).prefix;
    expect(prefix).toBe(`acme/users/${encodeSubject('alice/x')}/`);
    expect(prefix.startsWith('acme/users/alice/')).toBe(false);
  });

  it('takes the client\'s maxDurationSeconds over the partner\'s', () => {
    expect(resolveGrant(store(), jwtCaller('alice')).maxDurationSeconds).toBe(900);
  });

  it('falls back to the partner\'s maxDurationSeconds', () => {
    const caller: Caller = { partnerId: 'globex', clientId: 'backend', method: 'api-key', subject: 'globexk1', subjectSegment: 'globexk1' };
    expect(resolveGrant(store({ partners: { globex: { maxDurationSeconds: 2700 } } }), caller).maxDurationSeconds).toBe(2700);
  });

  it('takes the partition from the role ARN', () => {
    const s = store({ partners: { acme: { roleArn: 'arn:aws-cn:iam::111111111111:role/Role-A', region: 'cn-north-1' } } });
    expect(resolveGrant(s, apiKeyCaller).partition).toBe('aws-cn');
  });

  it.each<[string, Partial<Caller>]>([
    ['an unknown partner', { partnerId: 'nope' }],
    ['an unknown client', { clientId: 'nope' }],
    ['a client id on Object.prototype', { clientId: 'constructor' }],
    ['a JWT caller for an API-key client', { clientId: 'backend' }],
  ])('refuses %s', (_name, overrides) => {
    expect(() => resolveGrant(store(), jwtCaller('alice', overrides))).toThrow(UnauthenticatedError);
    expect(() => resolveGrant(store(), jwtCaller('alice', overrides))).toThrow('the credential does not belong to a configured client');
  });

  it('refuses an API-key caller for a JWT client', () => {
    const caller: Caller = { ...apiKeyCaller, clientId: 'app' };
    expect(() => resolveGrant(store(), caller)).toThrow(UnauthenticatedError);
    expect(() => resolveGrant(store(), caller)).toThrow('the credential does not belong to a configured client');
  });

  it('refuses a subject segment that is not the encoding of the subject (an authenticator bug)', () => {
    const caller = jwtCaller('alice/x', { subjectSegment: 'alice' });
    expect(() => resolveGrant(store(), caller)).toThrow(InternalError);
    expect(() => resolveGrant(store(), caller)).toThrow('caller.subjectSegment is not encodeSubject(caller.subject)');
  });
});
