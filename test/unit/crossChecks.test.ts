import { describe, expect, it } from '@jest/globals';
import { crossChecks } from '../../src/config/crossChecks.js';
import { configSchema, type BrokerConfig } from '../../src/config/schema.js';
import { configObject, sha256Hex, type Overrides } from '../support/configFixture.js';

/** Schema-valid config (cross-checks not yet run), so each rule is seen on its own. */
function config(overrides: Overrides = {}): BrokerConfig {
  return configSchema.parse(configObject(overrides));
}

const app = (patch: Overrides): Overrides => ({ partners: { acme: { clients: { app: patch } } } });
const appJwt = (patch: Overrides): Overrides => app({ jwt: patch });
const jwtClient = (jwt: Overrides): Overrides => ({
  jwt: { algorithms: ['RS256'], ...jwt }, prefix: 'g/', actions: ['read'], maxUploadBytes: 1, contentTypes: ['image/png'],
});
const HTTPS_ONLY = 'must be an https URL (http only for 127.0.0.1, localhost or [::1] with allowInsecureLoopbackHttp: true)';

describe('crossChecks', () => {
  it('accepts the fixture', () => {
    expect(crossChecks(config())).toEqual([]);
  });

  describe('API keys', () => {
    it('refuses the same key hash on two clients of different partners', () => {
      const hash = sha256Hex('sbk_shared_secret');
      const c = config({ partners: {
        acme: { clients: { backend: { apiKeys: [{ id: 'k1', sha256: hash }] } } },
        globex: { clients: { backend: { apiKeys: [{ id: 'k2', sha256: hash }] } } },
      } });
      expect(crossChecks(c)).toEqual([{
        path: 'partners.globex.clients.backend.apiKeys.0.sha256',
        message: 'duplicate API key hash (also partners.acme.clients.backend.apiKeys.0)',
      }]);
    });

    it('refuses the same key id on two clients', () => {
      const c = config({ partners: { globex: { clients: { backend: { apiKeys: [{ id: 'acmek1', sha256: sha256Hex('other') }] } } } } });
      expect(crossChecks(c)).toEqual([{
        path: 'partners.globex.clients.backend.apiKeys.0.id',
        message: 'duplicate API key id "acmek1" (also partners.acme.clients.backend.apiKeys.0)',
      }]);
    });

    it('refuses the same key id twice in one client', () => {
      const c = config({ partners: { acme: { clients: { backend: { apiKeys: [
        { id: 'k1', sha256: sha256Hex('a') }, { id: 'k1', sha256: sha256Hex('b') },
      ] } } } } });
      expect(crossChecks(c)).toEqual([{
        path: 'partners.acme.clients.backend.apiKeys.1.id',
        message: 'duplicate API key id "k1" (also partners.acme.clients.backend.apiKeys.0)',
      }]);
    });
  });

  describe('JWT clients', () => {
    const overlap = (clientPath: string) => ({
      path: 'partners.globex.clients.mobile.jwt.audience',
      message: `issuer "https://issuer.example" with an overlapping audience is also configured for ${clientPath}: a token would match both clients`,
    });

    it('refuses two clients with the same (issuer, audience)', () => {
      const c = config({ partners: { globex: { clients: { mobile: jwtClient({ issuer: 'https://issuer.example', audience: 'acme-app' }) } } } });
      expect(crossChecks(c)).toEqual([overlap('partners.acme.clients.app')]);
    });

    it('refuses overlapping audience lists', () => {
      const c = config({ partners: { globex: { clients: { mobile: jwtClient({ issuer: 'https://issuer.example', audience: ['x', 'acme-app'] }) } } } });
      expect(crossChecks(c)).toEqual([overlap('partners.acme.clients.app')]);
    });

    it('treats audience null (any audience) as overlapping every audience of that issuer', () => {
      const c = config({ partners: { globex: { clients: { mobile: jwtClient({ issuer: 'https://issuer.example', audience: null }) } } } });
      expect(crossChecks(c)).toEqual([overlap('partners.acme.clients.app')]);
    });

    it('accepts the same issuer with disjoint audiences, and the same audience at another issuer', () => {
      const c = config({ partners: { globex: { clients: {
        mobile: jwtClient({ issuer: 'https://issuer.example', audience: ['globex-app'] }),
        other: jwtClient({ issuer: 'https://issuer.example/', audience: 'acme-app' }),
      } } } });
      expect(crossChecks(c)).toEqual([]);
    });

    it.each(['http://issuer.example', 'issuer.example', 'ftp://issuer.example', 'http://127.0.0.1:8080'])('refuses the issuer %j', (issuer) => {
      expect(crossChecks(config(appJwt({ issuer })))).toEqual([{ path: 'partners.acme.clients.app.jwt.issuer', message: HTTPS_ONLY }]);
    });

    it.each(['http://127.0.0.1:8080', 'http://localhost:9000/realms/x', 'http://[::1]:8443'])(
      'accepts the loopback http issuer %j with allowInsecureLoopbackHttp: true', (issuer) => {
        expect(crossChecks(config({ allowInsecureLoopbackHttp: true, ...appJwt({ issuer, jwksUri: `${issuer}/jwks` }) }))).toEqual([]);
      },
    );

    it.each(['http://issuer.example', 'http://127.0.0.2', 'http://localhost.example.com'])(
      'refuses the non-loopback http issuer %j even with allowInsecureLoopbackHttp: true', (issuer) => {
        expect(crossChecks(config({ allowInsecureLoopbackHttp: true, ...appJwt({ issuer }) }))).toEqual([
          { path: 'partners.acme.clients.app.jwt.issuer', message: HTTPS_ONLY },
        ]);
      },
    );

    it('applies the same rule to jwksUri', () => {
      expect(crossChecks(config(appJwt({ jwksUri: 'http://issuer.example/jwks' })))).toEqual([
        { path: 'partners.acme.clients.app.jwt.jwksUri', message: HTTPS_ONLY },
      ]);
      expect(crossChecks(config(appJwt({ jwksUri: 'https://issuer.example/jwks' })))).toEqual([]);
    });
  });

  describe('prefixes', () => {
    const at = (client: 'app' | 'backend', message: string) => [{ path: `partners.acme.clients.${client}.prefix`, message }];
    const backend = (prefix: string) => config({ partners: { acme: { clients: { backend: { prefix } } } } });
    const appPrefix = (prefix: string) => config(app({ prefix }));

    it('refuses ${sub} in an API-key client prefix', () => {
      expect(crossChecks(backend('acme/${sub}/'))).toEqual(at('backend', '${sub} is only for JWT clients: an API-key client has no per-user subject'));
    });

    it('refuses ${sub} twice', () => {
      expect(crossChecks(appPrefix('acme/${sub}/${sub}/'))).toEqual(at('app', '${sub} may appear at most once'));
    });

    it.each(['acme/a${sub}/', 'acme/${sub}x/', 'acme/${sub}.d/'])('refuses ${sub} as part of a segment: %j', (prefix) => {
      expect(crossChecks(appPrefix(prefix))).toEqual(at('app', '${sub} must be a whole path segment (…/${sub}/)'));
    });

    it.each(['${sub}/', 'acme/${sub}/', 'acme/${sub}/inbox/'])('accepts ${sub} as a whole segment: %j', (prefix) => {
      expect(crossChecks(appPrefix(prefix))).toEqual([]);
    });

    it.each<[string, string]>([
      ['acme/\u0000/', 'must not contain control characters (C0, DEL or C1)'],
      ['acme/\u0085/', 'must not contain control characters (C0, DEL or C1)'],
      ['acme/../', 'must not contain "." or ".." segments'],
      ['acme/./', 'must not contain "." or ".." segments'],
      ['acme//', 'must not contain an empty segment ("//" or a trailing "/")'],
      ['acme\\x/', 'must not contain a backslash'],
      ['cafe\u0301/', 'must be NFC-normalised Unicode'],
      ['a\ud800/', 'must be well-formed Unicode (no lone surrogates)'],
    ])('refuses the prefix %j', (prefix, message) => {
      expect(crossChecks(backend(prefix))).toEqual(at('backend', message));
    });

    it('refuses a leading "/" (also refused by the schema; checked here for configs built in code)', () => {
      const c = config();
      c.partners.acme!.clients.backend!.prefix = '/acme/';
      expect(crossChecks(c)).toEqual(at('backend', 'must not start with "/"'));
    });

    it('refuses a prefix that leaves no room under the 1024-byte key limit, counting ${sub} at 64 chars', () => {
      const fits = `${'p'.repeat(1023 - 64 - 2)}/\${sub}/`; // 957 + 1 + 64 + 1 = 1023 bytes expanded
      expect(crossChecks(appPrefix(fits))).toEqual([]);
      expect(crossChecks(appPrefix(`p${fits}`))).toEqual(at('app',
        'is 1024 bytes of UTF-8 (with ${sub} at its longest); it must leave room under the 1024-byte key limit'));
    });
  });

  describe('durations', () => {
    it('refuses a client maxDurationSeconds above its partner\'s', () => {
      const c = config({ partners: { globex: { clients: { backend: { maxDurationSeconds: 1800 } } } } });
      expect(crossChecks(c)).toEqual([{
        path: 'partners.globex.clients.backend.maxDurationSeconds',
        message: 'must not exceed the partner\'s maxDurationSeconds (900)',
      }]);
    });

    it('accepts a client maxDurationSeconds equal to its partner\'s', () => {
      expect(crossChecks(config({ partners: { globex: { clients: { backend: { maxDurationSeconds: 900 } } } } }))).toEqual([]);
    });
  });

  it('reports every finding, not just the first', () => {
    const c = config({ partners: { globex: { clients: { backend: { prefix: 'g/${sub}/', maxDurationSeconds: 3600 } } } } });
    expect(crossChecks(c).map((i) => i.path)).toEqual([
      'partners.globex.clients.backend.prefix',
      'partners.globex.clients.backend.maxDurationSeconds',
    ]);
  });
});

describe('a grant whose widest session policy cannot fit STS\'s limit', () => {
  it('is refused at start, naming the prefix, instead of failing every whole-grant request', async () => {
    const { parseConfig } = await import('../../src/config/load.js');
    const { configYaml } = await import('../support/configFixture.js');
    const { ConfigError } = await import('../../src/errors.js');
    const longPrefix = `${'a'.repeat(600)}/`;
    const yaml = configYaml({ partners: { acme: { clients: { backend: { prefix: longPrefix } } } } });
    expect(() => parseConfig(yaml, 'long.yaml')).toThrow(ConfigError);
    expect(() => parseConfig(yaml, 'long.yaml')).toThrow(/partners\.acme\.clients\.backend\.prefix: too long: the session policy is \d+ characters; STS allows at most 2048/);
    const fits = configYaml({ partners: { acme: { clients: { backend: { prefix: `${'a'.repeat(200)}/` } } } } });
    expect(() => parseConfig(fits, 'fits.yaml')).not.toThrow();
  });
});
