/**
 * STS and S3 endpoints are https only, in the config and in the BROKER_STS_ENDPOINT /
 * BROKER_S3_ENDPOINT overrides: an AssumeRole answer carries a secret key. Plain http only on
 * loopback (127.0.0.0/8, localhost, [::1]) and only with the config's allowInsecureLoopbackHttp.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { crossChecks } from '../../src/config/crossChecks.js';
import { configSchema } from '../../src/config/schema.js';
import { endpointOverrideIssues, readSettings } from '../../src/config/settings.js';
import { ConfigError } from '../../src/domain/errors.js';
import { coldStartWithoutAws } from '../../src/wiring/coldStart.js';
import { captureLogs } from '../support/captureLogs.js';
import { configObject, configYaml, type Overrides } from '../support/configFixture.js';

const HTTPS_ONLY = 'must be an https URL (http only for 127.0.0.0/8, localhost or [::1] with allowInsecureLoopbackHttp: true)';
const LOOPBACK_NEEDS_FLAG = 'http is allowed only on loopback (127.0.0.0/8, localhost, [::1]) with allowInsecureLoopbackHttp: true';

const dir = mkdtempSync(join(tmpdir(), 'sbk-endpoints-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
function configFile(overrides: Overrides = {}): string {
  const path = join(dir, `broker-${files++}.yaml`);
  writeFileSync(path, configYaml(overrides));
  return path;
}

describe('partner stsEndpoint / s3Endpoint in the config', () => {
  const withEndpoints = (endpoints: Overrides, allow = false) =>
    crossChecks(configSchema.parse(configObject({ allowInsecureLoopbackHttp: allow, partners: { acme: endpoints } })));

  it.each(['stsEndpoint', 's3Endpoint'])('refuses a non-loopback http %s, naming the field', (field) => {
    expect(withEndpoints({ [field]: 'http://sts.example.com' })).toEqual([{ path: `partners.acme.${field}`, message: HTTPS_ONLY }]);
    expect(withEndpoints({ [field]: 'http://sts.example.com' }, true)).toEqual([{ path: `partners.acme.${field}`, message: HTTPS_ONLY }]);
  });

  it.each(['http://127.0.0.1:7480', 'http://127.8.9.10', 'http://localhost:4566', 'http://[::1]:7480'])(
    'accepts the loopback http endpoint %j only with allowInsecureLoopbackHttp: true', (url) => {
      expect(withEndpoints({ stsEndpoint: url, s3Endpoint: url })).toEqual([
        { path: 'partners.acme.stsEndpoint', message: LOOPBACK_NEEDS_FLAG },
        { path: 'partners.acme.s3Endpoint', message: LOOPBACK_NEEDS_FLAG },
      ]);
      expect(withEndpoints({ stsEndpoint: url, s3Endpoint: url }, true)).toEqual([]);
    },
  );

  it('accepts https endpoints and refuses credentials in the URL', () => {
    expect(withEndpoints({ stsEndpoint: 'https://sts.eu-west-1.amazonaws.com', s3Endpoint: 'https://s3.eu-west-1.amazonaws.com' })).toEqual([]);
    expect(withEndpoints({ s3Endpoint: 'https://key:secret@s3.example.com' })).toEqual([{ path: 'partners.acme.s3Endpoint', message: 'must not carry credentials' }]);
  });
});

describe('BROKER_STS_ENDPOINT / BROKER_S3_ENDPOINT', () => {
  const base = { BROKER_CONFIG: 'broker.yaml' };

  it.each(['BROKER_STS_ENDPOINT', 'BROKER_S3_ENDPOINT'])('readSettings refuses a non-loopback http %s, naming it', (name) => {
    expect(() => readSettings({ ...base, [name]: 'http://sts.example.com' })).toThrow(ConfigError);
    expect(() => readSettings({ ...base, [name]: 'http://sts.example.com' })).toThrow(`invalid environment: ${name}: ${HTTPS_ONLY}`);
    expect(() => readSettings({ ...base, [name]: 'sts.example.com' })).toThrow(`invalid environment: ${name}: must be an absolute URL`);
  });

  it('readSettings accepts https and loopback http (the config decides on loopback)', () => {
    expect(readSettings({ ...base, BROKER_STS_ENDPOINT: 'https://sts.example.com', BROKER_S3_ENDPOINT: 'http://127.0.0.1:7480' }))
      .toMatchObject({ BROKER_STS_ENDPOINT: 'https://sts.example.com', BROKER_S3_ENDPOINT: 'http://127.0.0.1:7480' });
  });

  it('endpointOverrideIssues names each loopback http override the config does not allow', () => {
    const loopback = { BROKER_STS_ENDPOINT: 'http://127.0.0.1:7480', BROKER_S3_ENDPOINT: 'http://localhost:7480' };
    expect(endpointOverrideIssues(loopback, false)).toEqual([
      `BROKER_STS_ENDPOINT: ${LOOPBACK_NEEDS_FLAG}`, `BROKER_S3_ENDPOINT: ${LOOPBACK_NEEDS_FLAG}`,
    ]);
    expect(endpointOverrideIssues(loopback, true)).toEqual([]);
    expect(endpointOverrideIssues({ BROKER_STS_ENDPOINT: undefined, BROKER_S3_ENDPOINT: undefined }, false)).toEqual([]);
  });

  async function coldStartRefusal(env: Record<string, string>): Promise<{ err: Error; lines: string[] }> {
    const { result, lines } = await captureLogs(async () => {
      try {
        coldStartWithoutAws({ env });
      } catch (err) {
        return err as Error;
      }
      throw new Error('the broker started');
    });
    return { err: result, lines };
  }

  it('stops the broker at cold start on a loopback http override without allowInsecureLoopbackHttp, naming the variable', async () => {
    const path = configFile();
    const { err, lines } = await coldStartRefusal({ BROKER_CONFIG: path, BROKER_STS_ENDPOINT: 'http://127.0.0.1:7480' });
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(`invalid environment: BROKER_STS_ENDPOINT: ${LOOPBACK_NEEDS_FLAG} (allowInsecureLoopbackHttp is false in ${path})`);
    expect(lines.some((l) => l.includes('refusing to start') && l.includes('BROKER_STS_ENDPOINT'))).toBe(true);
  });

  it('stops the broker at cold start on a non-loopback http override, whatever the config says', async () => {
    const path = configFile({ allowInsecureLoopbackHttp: true });
    const { err } = await coldStartRefusal({ BROKER_CONFIG: path, BROKER_S3_ENDPOINT: 'http://s3.example.com' });
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(`invalid environment: BROKER_S3_ENDPOINT: ${HTTPS_ONLY}`);
  });

  it('starts with loopback http overrides when the config sets allowInsecureLoopbackHttp (the local stack), and with https ones', async () => {
    const local = configFile({ allowInsecureLoopbackHttp: true });
    const { result } = await captureLogs(async () => coldStartWithoutAws({ env: { BROKER_CONFIG: local, BROKER_STS_ENDPOINT: 'http://127.0.0.1:7480', BROKER_S3_ENDPOINT: 'http://127.0.0.1:7480' } }));
    expect(result.settings.BROKER_STS_ENDPOINT).toBe('http://127.0.0.1:7480');
    const prod = configFile();
    const { result: deps } = await captureLogs(async () => coldStartWithoutAws({ env: { BROKER_CONFIG: prod, BROKER_STS_ENDPOINT: 'https://sts.eu-west-1.amazonaws.com' } }));
    expect(deps.settings.BROKER_STS_ENDPOINT).toBe('https://sts.eu-west-1.amazonaws.com');
  });

  it('logs the config notices at cold start (the fixture\'s back end holds its app users\' folders)', async () => {
    const { lines } = await captureLogs(async () => coldStartWithoutAws({ env: { BROKER_CONFIG: configFile() } }));
    const notice = lines.find((l) => l.includes('config notice'));
    expect(notice).toBeDefined();
    expect(JSON.parse(notice!)).toMatchObject({ level: 'INFO', path: 'partners.acme.clients.backend.prefix' });
  });
});
