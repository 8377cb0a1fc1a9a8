import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { canonicalJson, checkConfigText, configHash, loadConfigFile, loadConfigFileWithNotices, parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/domain/errors.js';
import { brokerConfig, configObject, configYaml, type Overrides } from '../support/configFixture.js';

const SOURCE = '/x/broker.yaml';

/** Asserts the class and the exact message: a refusal names the field and says what to change. */
function expectConfigError(run: () => unknown, message: string): void {
  expect(run).toThrow(ConfigError);
  expect(run).toThrow(new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
}
const parseWith = (overrides: Overrides) => () => parseConfig(configYaml(overrides), SOURCE);

describe('parseConfig', () => {
  it('accepts the fixture and applies the schema defaults', () => {
    const config = parseConfig(configYaml(), SOURCE);
    expect(config.allowInsecureLoopbackHttp).toBe(false);
    expect(config.partners.globex!.maxDurationSeconds).toBe(900);
    expect(config.partners.globex!.clients.backend!.cors).toEqual({ origins: [] });
    expect(config.partners.acme!.clients.app!.jwt!.subjectClaim).toBe('sub');
  });

  it('names an unknown key', () => {
    expectConfigError(parseWith({ partners: { acme: { bucktt: 'x' } } }), `invalid config ${SOURCE}: partners.acme.bucktt: unrecognized key`);
  });

  it('names an unknown top-level key', () => {
    expectConfigError(parseWith({ partner: {} }), `invalid config ${SOURCE}: partner: unrecognized key`);
  });

  it('names a prefix that does not end with "/"', () => {
    expectConfigError(
      parseWith({ partners: { acme: { clients: { backend: { prefix: 'acme' } } } } }),
      `invalid config ${SOURCE}: partners.acme.clients.backend.prefix: must end with "/"`,
    );
  });

  it('refuses duplicate YAML keys, naming the key and its line', () => {
    const yaml = 'partners:\n  acme:\n    bucket: a\n    bucket: b\n';
    expectConfigError(() => parseConfig(yaml, SOURCE), `invalid config ${SOURCE}: partners.acme.bucket: duplicate key (line 4, column 5)`);
  });

  it('reports YAML syntax errors with their position', () => {
    expectConfigError(() => parseConfig('partners: [\n', SOURCE),
      `invalid config ${SOURCE}: yaml (line 2, column 1): Flow sequence in block collection must be sufficiently indented and end with a ]`);
  });

  it('refuses unknown YAML tags', () => {
    expectConfigError(() => parseConfig('partners: !!js/function x\n', SOURCE),
      `invalid config ${SOURCE}: yaml (line 1, column 11): Unresolved tag: tag:yaml.org,2002:js/function`);
  });

  it('refuses an empty document', () => {
    expectConfigError(() => parseConfig('', SOURCE), `invalid config ${SOURCE}: (root): expected object, got null`);
  });

  it('says "required" for a missing field', () => {
    expectConfigError(parseWith({ partners: { acme: { bucket: undefined } } }), `invalid config ${SOURCE}: partners.acme.bucket: required`);
  });

  it('requires the JWT audience (explicit null opts out)', () => {
    expectConfigError(parseWith({ partners: { acme: { clients: { app: { jwt: { audience: undefined } } } } } }),
      `invalid config ${SOURCE}: partners.acme.clients.app.jwt.audience: required`);
    expect(parseConfig(configYaml({ partners: { acme: { clients: { app: { jwt: { audience: null } } } } } }), SOURCE)
      .partners.acme!.clients.app!.jwt!.audience).toBeNull();
  });

  it('names the wrong type of a union field', () => {
    expectConfigError(parseWith({ partners: { acme: { clients: { app: { jwt: { audience: 5 } } } } } }),
      `invalid config ${SOURCE}: partners.acme.clients.app.jwt.audience: expected string or array or null, got number`);
  });

  it('reports the matching branch of a union when only its content is wrong', () => {
    expectConfigError(parseWith({ partners: { acme: { clients: { app: { jwt: { audience: [] } } } } } }),
      `invalid config ${SOURCE}: partners.acme.clients.app.jwt.audience: Too small: expected array to have >=1 items`);
  });

  it('names a wrong scalar type', () => {
    expectConfigError(parseWith({ partners: { acme: { maxDurationSeconds: '900' } } }),
      `invalid config ${SOURCE}: partners.acme.maxDurationSeconds: expected number, got string`);
  });

  it.each([[899, 'Too small: expected number to be >=900'], [3601, 'Too big: expected number to be <=3600']])(
    'refuses partner maxDurationSeconds %i', (value, message) => {
      expectConfigError(parseWith({ partners: { acme: { maxDurationSeconds: value } } }),
        `invalid config ${SOURCE}: partners.acme.maxDurationSeconds: ${message}`);
    },
  );

  it('parses API key expiry dates and refuses bad ones', () => {
    const withExpiry = (expires: string) => ({ partners: { globex: { clients: { backend: { apiKeys: [{ ...keyOf('globex'), expires }] } } } } });
    const config = parseConfig(configYaml(withExpiry('2027-06-30')), SOURCE);
    expect(config.partners.globex!.clients.backend!.apiKeys![0]!.expires).toEqual(new Date('2027-06-30T00:00:00Z'));
    expectConfigError(parseWith(withExpiry('someday')),
      `invalid config ${SOURCE}: partners.globex.clients.backend.apiKeys.0.expires: must be a date like 2027-06-30`);
  });

  it('names a bad client name with the schema\'s rule', () => {
    const backend = (configObject() as { partners: { globex: { clients: { backend: unknown } } } }).partners.globex.clients.backend;
    expectConfigError(parseWith({ partners: { globex: { clients: { Backend_1: backend, backend: undefined } } } }),
      `invalid config ${SOURCE}: partners.globex.clients.Backend_1: client names are 1–32 of [a-z0-9-]`);
  });

  it('lists every bad field, separated by "; "', () => {
    expectConfigError(parseWith({ partners: { acme: { bucktt: 1, region: 'mars' } } }),
      `invalid config ${SOURCE}: partners.acme.region: must be an AWS region like eu-west-1; partners.acme.bucktt: unrecognized key`);
  });

  it('runs the cross-checks and names their fields', () => {
    expectConfigError(parseWith({ partners: { globex: { clients: { backend: { prefix: 'globex/${sub}/' } } } } }),
      `invalid config ${SOURCE}: partners.globex.clients.backend.prefix: \${sub} is only for JWT clients: an API-key client has no per-user subject`);
  });

  it('refuses a non-https issuer through the cross-checks', () => {
    expectConfigError(parseWith({ partners: { acme: { clients: { app: { jwt: { issuer: 'http://issuer.example' } } } } } }),
      `invalid config ${SOURCE}: partners.acme.clients.app.jwt.issuer: must be an https URL (http only for 127.0.0.0/8, localhost or [::1] with allowInsecureLoopbackHttp: true)`);
  });

  it('refuses YAML alias bombs', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) =>
      `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`)].join('\n');
    expect(() => parseConfig(bomb, SOURCE)).toThrow(ConfigError);
    expect(() => parseConfig(bomb, SOURCE)).toThrow(`invalid config ${SOURCE}: yaml: Excessive alias count`);
  });
});

function keyOf(partner: 'globex'): { id: string; sha256: string } {
  const obj = configObject() as { partners: Record<string, { clients: { backend: { apiKeys: Array<{ id: string; sha256: string }> } } }> };
  return obj.partners[partner]!.clients.backend.apiKeys[0]!;
}

describe('loadConfigFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads and validates a file', () => {
    const path = join(dir, 'broker.yaml');
    writeFileSync(path, configYaml());
    expect(loadConfigFile(path)).toEqual(brokerConfig());
  });

  it('names the file in validation errors', () => {
    const path = join(dir, 'bad.yaml');
    writeFileSync(path, configYaml({ partners: { acme: { bucktt: 1 } } }));
    expectConfigError(() => loadConfigFile(path), `invalid config ${path}: partners.acme.bucktt: unrecognized key`);
  });

  it('names a missing file and the reason', () => {
    const path = join(dir, 'missing.yaml');
    expectConfigError(() => loadConfigFile(path), `invalid config ${path}: cannot read the file (ENOENT)`);
  });
});

describe('configHash', () => {
  it('is 16 hex characters and stable across key order', () => {
    const hash = configHash(brokerConfig());
    expect(hash).toMatch(/^[0-9a-f]{16}$/);
    const swapped = brokerConfig();
    const { acme, globex } = swapped.partners;
    expect(configHash({ partners: { globex: globex!, acme: acme! }, allowInsecureLoopbackHttp: false })).toBe(hash);
  });

  it('changes when any value changes', () => {
    expect(configHash(brokerConfig({ partners: { acme: { bucket: 'other-bucket' } } }))).not.toBe(configHash(brokerConfig()));
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every depth, keeps array order, and writes dates as ISO strings', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: new Date('2027-06-30T00:00:00Z') } }))
      .toBe('{"a":{"c":"2027-06-30T00:00:00.000Z","d":[2,1]},"b":1}');
  });
});

describe('checkConfigText (for scripts that list every finding)', () => {
  it('returns the config and the notices, and no issues, for the fixture', () => {
    const { issues, notices, config } = checkConfigText(configYaml());
    expect(issues).toEqual([]);
    expect(config?.partners.acme?.clients.app?.prefix).toBe('acme/users/${sub}/');
    expect(notices).toEqual([{
      path: 'partners.acme.clients.backend.prefix',
      message: 'contains every ${sub} folder of partners.acme.clients.app ("acme/users/${sub}/") on bucket "partner-bucket": this client reaches every one of its subjects\' files',
    }]);
  });

  it('returns every issue, without a config and without throwing, at each stage', () => {
    expect(checkConfigText('partners: [\n')).toEqual({ issues: [expect.objectContaining({ path: 'yaml (line 2, column 1)' })], notices: [] });
    expect(checkConfigText(configYaml({ partners: { acme: { bucktt: 1 } } }))).toEqual({ issues: [{ path: 'partners.acme.bucktt', message: 'unrecognized key' }], notices: [] });
    const collision = checkConfigText(configYaml({ partners: { acme: { clients: { app: { prefix: '${sub}/' } } } } }));
    expect(collision.config).toBeUndefined();
    expect(collision.issues.map((i) => i.path)).toEqual(['partners.acme.clients.app.prefix']);
  });

  it('parseConfig throws the same issues, and loadConfigFileWithNotices returns the notices', () => {
    expect(() => parseConfig(configYaml({ partners: { acme: { clients: { app: { prefix: '${sub}/' } } } } }), SOURCE))
      .toThrow(/^invalid config \/x\/broker\.yaml: partners\.acme\.clients\.app\.prefix: \$\{sub\} folders collide with partners\.acme\.clients\.backend/);
    const dir = mkdtempSync(join(tmpdir(), 'sb-config-notices-'));
    const path = join(dir, 'notices.yaml');
    writeFileSync(path, configYaml());
    expect(loadConfigFileWithNotices(path).notices.map((n) => n.path)).toEqual(['partners.acme.clients.backend.prefix']);
    rmSync(dir, { recursive: true, force: true });
  });
});
