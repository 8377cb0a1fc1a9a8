import { describe, expect, it } from '@jest/globals';
import { crossCheckFindings, crossChecks } from '../../src/config/crossChecks.js';
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
const HTTPS_ONLY = 'must be an https URL (http only for 127.0.0.0/8, localhost or [::1] with allowInsecureLoopbackHttp: true)';
const LOOPBACK_NEEDS_FLAG = 'http is allowed only on loopback (127.0.0.0/8, localhost, [::1]) with allowInsecureLoopbackHttp: true';
const NOT_A_URL = 'must be an absolute URL';

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

    it.each([
      ['http://issuer.example', HTTPS_ONLY], ['issuer.example', NOT_A_URL], ['ftp://issuer.example', HTTPS_ONLY],
      ['http://127.0.0.1:8080', LOOPBACK_NEEDS_FLAG], ['https://user:pw@issuer.example', 'must not carry credentials'],
    ])('refuses the issuer %j', (issuer, message) => {
      expect(crossChecks(config(appJwt({ issuer })))).toEqual([{ path: 'partners.acme.clients.app.jwt.issuer', message }]);
    });

    it.each(['http://127.0.0.1:8080', 'http://127.0.0.2:8080', 'http://localhost:9000/realms/x', 'http://[::1]:8443'])(
      'accepts the loopback http issuer %j with allowInsecureLoopbackHttp: true', (issuer) => {
        expect(crossChecks(config({ allowInsecureLoopbackHttp: true, ...appJwt({ issuer, jwksUri: `${issuer}/jwks` }) }))).toEqual([]);
      },
    );

    it.each(['http://issuer.example', 'http://127.0.0.1.example.com', 'http://localhost.example.com', 'http://128.0.0.1'])(
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
      // without acme's back end at acme/, which a root ${sub}/ would collide with (see the folder tests)
      expect(crossChecks(config({ partners: { acme: { clients: { backend: undefined, app: { prefix } } } } }))).toEqual([]);
    });

    it.each<[string, string]>([
      ['acme/\u0000/', 'must not contain control characters (C0, DEL or C1)'],
      ['acme/\u0085/', 'must not contain control characters (C0, DEL or C1)'],
      ['acme/../', 'must not contain "." or ".." segments'],
      ['acme/./', 'must not contain "." or ".." segments'],
      ['acme//', 'must not contain an empty segment ("//" or a trailing "/")'],
      ['acme\\x/', 'must not contain a backslash'],
      ['acme/\u202e/', 'must not contain invisible format characters (U+2028/U+2029 line and paragraph separators, bidi controls, zero-width characters: Unicode category Cf)'],
      ['acme\u2028/', 'must not contain invisible format characters (U+2028/U+2029 line and paragraph separators, bidi controls, zero-width characters: Unicode category Cf)'],
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
    const { ConfigError } = await import('../../src/domain/errors.js');
    const longPrefix = `${'a'.repeat(600)}/`;
    const yaml = configYaml({ partners: { acme: { clients: { backend: { prefix: longPrefix } } } } });
    expect(() => parseConfig(yaml, 'long.yaml')).toThrow(ConfigError);
    expect(() => parseConfig(yaml, 'long.yaml')).toThrow(/partners\.acme\.clients\.backend\.prefix: too long: the session policy is \d+ characters; STS allows at most 2048/);
    const fits = configYaml({ partners: { acme: { clients: { backend: { prefix: `${'a'.repeat(200)}/` } } } } });
    expect(() => parseConfig(fits, 'fits.yaml')).not.toThrow();
  });
});

describe('${sub} folders across clients and partners on one bucket', () => {
  const JWT = (issuer: string, audience: string, prefix: string, extra: Overrides = {}): Overrides => ({
    jwt: { issuer, audience, algorithms: ['ES256'] }, prefix, actions: ['read', 'write'], maxUploadBytes: 1, contentTypes: ['image/png'], ...extra,
  });
  const KEY = (id: string, prefix: string): Overrides => ({
    apiKeys: [{ id, sha256: sha256Hex(id) }], prefix, actions: ['read'], maxUploadBytes: 1, contentTypes: ['text/csv'],
  });
  /** acme with exactly these clients (the fixture's own replaced); globex untouched on its own bucket. */
  const acme = (clients: Record<string, Overrides>, partnerExtra: Overrides = {}): BrokerConfig => {
    const raw = configObject({ partners: { acme: partnerExtra } });
    ((raw.partners as Record<string, Record<string, unknown>>).acme!).clients = clients;
    return configSchema.parse(raw);
  };
  const issuesOf = (c: BrokerConfig) => crossCheckFindings(c).issues;
  const noticesOf = (c: BrokerConfig) => crossCheckFindings(c).notices;

  it('refuses (a): a JWT tenants/${sub}/ next to an API-key tenants/billing/, naming the subject that would own it', () => {
    const c = acme({ backend: KEY('k1', 'tenants/billing/'), app: JWT('https://issuer.example', 'a', 'tenants/${sub}/') });
    expect(issuesOf(c)).toEqual([{
      path: 'partners.acme.clients.app.prefix',
      message: '${sub} folders collide with partners.acme.clients.backend on bucket "partner-bucket": partners.acme.clients.app\'s folder "tenants/billing/" for subject "billing" is the same folder as partners.acme.clients.backend\'s prefix "tenants/billing/"; keep them apart with a literal segment (like "web/${sub}/" next to "billing/"); a literal prefix may sit only above the text before ${sub}',
    }]);
  });

  it('refuses (a) whichever client comes first, and with a literal deeper than the folder (tenants/billing/reports/)', () => {
    const c = acme({ app: JWT('https://issuer.example', 'a', 'tenants/${sub}/'), backend: KEY('k1', 'tenants/billing/reports/') });
    expect(issuesOf(c)).toEqual([expect.objectContaining({ path: 'partners.acme.clients.backend.prefix' })]);
    expect(issuesOf(c)[0]!.message).toContain('partners.acme.clients.backend\'s prefix "tenants/billing/reports/" is inside partners.acme.clients.app\'s folder "tenants/billing/" for subject "billing"');
  });

  it('refuses (b): users/${sub}/ for two issuers on one bucket, also across partners', () => {
    const c = acme({
      web: JWT('https://a.example', 'web', 'users/${sub}/'),
      other: JWT('https://b.example', 'web', 'users/${sub}/'),
    });
    expect(issuesOf(c)).toEqual([expect.objectContaining({ path: 'partners.acme.clients.other.prefix' })]);
    expect(issuesOf(c)[0]!.message).toContain('(the same subject at issuers "https://b.example" and "https://a.example" can be two people)');
    const across = configSchema.parse(configObject({ partners: {
      acme: { clients: { app: { prefix: 'users/${sub}/' }, backend: { prefix: 'back/' } } },
      globex: { bucket: 'partner-bucket', roleArn: 'arn:aws:iam::111111111111:role/Role-A', clients: { app: JWT('https://b.example', 'g', 'users/${sub}/') } },
    } }));
    expect(issuesOf(across).map((i) => i.path)).toEqual(['partners.globex.clients.app.prefix']);
  });

  it('accepts (b) on two buckets, or in two partitions with one bucket name', () => {
    const c = configSchema.parse(configObject({ partners: {
      acme: { clients: { app: { prefix: 'users/${sub}/' }, backend: { prefix: 'back/' } } },
      globex: { clients: { app: JWT('https://b.example', 'g', 'users/${sub}/') } },
      cnco: { roleArn: 'arn:aws-cn:iam::333333333333:role/C', bucket: 'partner-bucket', region: 'cn-north-1', clients: { app: JWT('https://c.example', 'c', 'users/${sub}/') } },
    } }));
    expect(issuesOf(c)).toEqual([]);
  });

  it('refuses (c): a root ${sub}/ next to acme/ (subject "acme" reaches acme/x)', () => {
    const c = acme({ backend: KEY('k1', 'acme/'), app: JWT('https://issuer.example', 'a', '${sub}/') });
    expect(issuesOf(c)).toEqual([expect.objectContaining({ path: 'partners.acme.clients.app.prefix' })]);
    expect(issuesOf(c)[0]!.message).toContain('partners.acme.clients.app\'s folder "acme/" for subject "acme" is the same folder as partners.acme.clients.backend\'s prefix "acme/"');
  });

  it('refuses a template above a literal: ${sub}/ next to acme/x/', () => {
    const c = acme({ backend: KEY('k1', 'acme/x/'), app: JWT('https://issuer.example', 'a', '${sub}/') });
    expect(issuesOf(c)[0]!.message).toContain('partners.acme.clients.app\'s folder "acme/" for subject "acme" is above partners.acme.clients.backend\'s prefix "acme/x/"');
  });

  it('refuses a template under a template (users/${sub}/ and users/${sub}/photos/), even of one issuer', () => {
    const c = acme({ web: JWT('https://a.example', 'web', 'users/${sub}/'), photos: JWT('https://a.example', 'photos', 'users/${sub}/photos/') });
    expect(issuesOf(c)).toEqual([expect.objectContaining({ path: 'partners.acme.clients.photos.prefix' })]);
    expect(issuesOf(c)[0]!.message).toContain('is inside partners.acme.clients.web\'s folder "users/alice/" for subject "alice" (one subject of issuer "https://a.example" in two grants)');
  });

  it('refuses templates that meet at different depths: ${sub}/x/ and a/${sub}/', () => {
    const c = acme({ one: JWT('https://a.example', 'one', '${sub}/x/'), two: JWT('https://b.example', 'two', 'a/${sub}/') });
    expect(issuesOf(c)[0]!.message).toContain('partners.acme.clients.two\'s folder "a/x/" for subject "x" is the same folder as partners.acme.clients.one\'s folder "a/x/" for subject "a"');
  });

  it('refuses two clients of one issuer sharing a template without sharesSubjectFoldersWith, suggesting it', () => {
    const c = acme({ web: JWT('https://a.example', 'web', 'users/${sub}/'), mobile: JWT('https://a.example', 'mobile', 'users/${sub}/') });
    expect(issuesOf(c)).toEqual([expect.objectContaining({ path: 'partners.acme.clients.mobile.prefix' })]);
    expect(issuesOf(c)[0]!.message).toMatch(/name each other in sharesSubjectFoldersWith$/);
  });

  it('accepts two clients of one issuer sharing a template when both declare it, as a notice', () => {
    const c = acme({
      web: JWT('https://a.example', 'web', 'users/${sub}/', { sharesSubjectFoldersWith: ['mobile'] }),
      mobile: JWT('https://a.example', 'mobile', 'users/${sub}/', { sharesSubjectFoldersWith: ['web'] }),
    });
    expect(issuesOf(c)).toEqual([]);
    expect(noticesOf(c)).toEqual([{
      path: 'partners.acme.clients.mobile.prefix',
      message: 'shares its ${sub} folders with partners.acme.clients.web (declared by both in sharesSubjectFoldersWith): one subject of issuer "https://a.example" has one folder for both clients',
    }]);
  });

  it.each<[string, Record<string, Overrides>, string, string]>([
    ['a one-sided declaration', {
      web: JWT('https://a.example', 'web', 'users/${sub}/', { sharesSubjectFoldersWith: ['mobile'] }),
      mobile: JWT('https://a.example', 'mobile', 'users/${sub}/'),
    }, 'partners.acme.clients.web.sharesSubjectFoldersWith.0', '"mobile" does not name "web" in its sharesSubjectFoldersWith: both clients must declare the share'],
    ['another issuer', {
      web: JWT('https://a.example', 'web', 'users/${sub}/', { sharesSubjectFoldersWith: ['mobile'] }),
      mobile: JWT('https://b.example', 'mobile', 'users/${sub}/', { sharesSubjectFoldersWith: ['web'] }),
    }, 'partners.acme.clients.web.sharesSubjectFoldersWith.0', '"mobile" trusts issuer "https://b.example", this client "https://a.example": the same subject at two issuers can be two people, so their folders are never shared'],
    ['another subject claim', {
      web: JWT('https://a.example', 'web', 'users/${sub}/', { sharesSubjectFoldersWith: ['mobile'] }),
      mobile: { ...JWT('https://a.example', 'mobile', 'users/${sub}/', { sharesSubjectFoldersWith: ['web'] }), jwt: { issuer: 'https://a.example', audience: 'mobile', algorithms: ['ES256'], subjectClaim: 'email' } },
    }, 'partners.acme.clients.web.sharesSubjectFoldersWith.0', '"mobile" takes its subject from claim "email", this client from "sub": shared folders need the same subject claim'],
    ['a client of another partner (or a missing one)', {
      web: JWT('https://a.example', 'web', 'users/${sub}/', { sharesSubjectFoldersWith: ['backend'] }),
    }, 'partners.acme.clients.web.sharesSubjectFoldersWith.0', 'no client "backend" in partner "acme": subject folders can be shared only with a client of the same partner, bucket and issuer'],
    ['an API-key client', {
      web: JWT('https://a.example', 'web', 'users/${sub}/', { sharesSubjectFoldersWith: ['backend'] }),
      backend: KEY('k1', 'back/'),
    }, 'partners.acme.clients.web.sharesSubjectFoldersWith.0', '"backend" has no ${sub} folders to share (it is not a JWT client with ${sub} in its prefix)'],
    ['itself', {
      web: JWT('https://a.example', 'web', 'users/${sub}/', { sharesSubjectFoldersWith: ['web'] }),
    }, 'partners.acme.clients.web.sharesSubjectFoldersWith.0', 'a client cannot name itself'],
    ['from a client without ${sub}', {
      web: JWT('https://a.example', 'web', 'shared/', { sharesSubjectFoldersWith: ['mobile'] }),
      mobile: JWT('https://a.example', 'mobile', 'users/${sub}/', { sharesSubjectFoldersWith: ['web'] }),
    }, 'partners.acme.clients.web.sharesSubjectFoldersWith.0', 'only a JWT client whose prefix has ${sub} can share subject folders'],
    ['another template', {
      web: JWT('https://a.example', 'web', 'users/${sub}/', { sharesSubjectFoldersWith: ['mobile'] }),
      mobile: JWT('https://a.example', 'mobile', 'm/${sub}/', { sharesSubjectFoldersWith: ['web'] }),
    }, 'partners.acme.clients.web.sharesSubjectFoldersWith.0', '"mobile" has prefix "m/${sub}/", this client "users/${sub}/": only identical ${sub} templates can be shared'],
  ])('refuses sharesSubjectFoldersWith naming %s', (_name, clients, path, message) => {
    expect(issuesOf(acme(clients))).toContainEqual({ path, message });
  });

  it('allows a literal prefix above the text before ${sub} (the back end over its app users), as a notice', () => {
    const c = acme({ backend: KEY('k1', 'acme/'), app: JWT('https://issuer.example', 'a', 'acme/users/${sub}/') });
    expect(issuesOf(c)).toEqual([]);
    expect(noticesOf(c)).toEqual([{
      path: 'partners.acme.clients.backend.prefix',
      message: 'contains every ${sub} folder of partners.acme.clients.app ("acme/users/${sub}/") on bucket "partner-bucket": this client reaches every one of its subjects\' files',
    }]);
    // the fixture itself is this case
    expect(crossCheckFindings(config()).notices.map((n) => n.path)).toEqual(['partners.acme.clients.backend.prefix']);
    // equal to the text before ${sub}, and a JWT client's literal prefix, count too
    expect(issuesOf(acme({ backend: KEY('k1', 'acme/users/'), app: JWT('https://issuer.example', 'a', 'acme/users/${sub}/') }))).toEqual([]);
    expect(issuesOf(acme({ shared: JWT('https://b.example', 's', 'acme/'), app: JWT('https://issuer.example', 'a', 'acme/users/${sub}/') }))).toEqual([]);
  });

  it('refuses a literal that reaches into the template past ${sub} (acme/users/bob/ next to acme/users/${sub}/inbox/)', () => {
    const c = acme({ backend: KEY('k1', 'acme/users/bob/'), app: JWT('https://issuer.example', 'a', 'acme/users/${sub}/inbox/') });
    expect(issuesOf(c)[0]!.message).toContain('partners.acme.clients.app\'s folder "acme/users/bob/inbox/" for subject "bob" is inside partners.acme.clients.backend\'s prefix "acme/users/bob/"');
  });

  it.each<[string, string, string]>([
    ['a literal segment after ${sub}', 'users/${sub}/inbox/', 'users/bob/outbox/'],
    ['a literal segment before ${sub}', 'web/${sub}/', 'billing/'],
    ['a segment no subject can become (not [A-Za-z0-9._-])', 'tenants/${sub}/', 'tenants/billing@corp/'],
    ['a segment no subject can become (over 64 characters)', 'tenants/${sub}/', `tenants/${'b'.repeat(65)}/`],
    ['a non-ASCII segment', '${sub}/', 'café/'],
  ])('accepts a template and a literal kept apart by %s', (_name, template, literal) => {
    const c = acme({ backend: KEY('k1', literal), app: JWT('https://issuer.example', 'a', template) });
    expect(issuesOf(c)).toEqual([]);
    expect(noticesOf(c)).toEqual([]);
  });

  it('accepts two templates kept apart by a literal segment (web/${sub}/ and mobile/${sub}/), for any issuers', () => {
    const c = acme({ web: JWT('https://a.example', 'web', 'web/${sub}/'), mobile: JWT('https://b.example', 'mobile', 'mobile/${sub}/') });
    expect(crossCheckFindings(c)).toEqual({ issues: [], notices: [] });
  });

  it('keeps the existing rule for two literal prefixes: equal or nested is accepted; nested is listed as a notice', () => {
    expect(crossCheckFindings(acme({ backend: KEY('k1', 'acme/'), reader: KEY('k2', 'acme/') }))).toEqual({ issues: [], notices: [] });
    expect(crossCheckFindings(acme({ backend: KEY('k1', 'acme/'), reports: KEY('k2', 'acme/x/') }))).toEqual({ issues: [], notices: [{
      path: 'partners.acme.clients.backend.prefix',
      message: 'contains partners.acme.clients.reports\'s prefix "acme/x/" on bucket "partner-bucket": this client reaches that client\'s files',
    }] });
    expect(crossCheckFindings(acme({ backend: KEY('k1', 'acme/'), other: KEY('k2', 'acme2/') }))).toEqual({ issues: [], notices: [] });
  });

  it('treats every [A-Za-z0-9._-] segment as reachable by ${sub}, even "h-…" ones (conservative: no subject maps there in practice)', () => {
    expect(issuesOf(acme({ backend: KEY('k1', 't/h-abc/'), app: JWT('https://issuer.example', 'a', 't/${sub}/') }))).toHaveLength(1);
  });
});
