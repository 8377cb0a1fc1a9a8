/**
 * Choosing the grant store: the settings that select and bound it, the config rules per store (the
 * YAML store needs partners, the DynamoDB store refuses them), and the cold-start choice.
 */
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConfigText } from '../../src/config/load.js';
import { endpointOverrideIssues, readSettings } from '../../src/config/settings.js';
import { ConfigError, InternalError } from '../../src/domain/errors.js';
import { DynamoGrantStore, UNCONFIRMED_VERSION } from '../../src/adapters/dynamo/dynamoGrantStore.js';
import { YamlGrantStore } from '../../src/adapters/yamlGrantStore.js';
import { coldStartWithoutAws, TABLE_NOT_READ_VERSION } from '../../src/wiring/coldStart.js';
import { coldStartWithGrantTable } from '../../src/wiring/withGrantTable.js';
import { configYaml } from '../support/configFixture.js';

const base = { BROKER_CONFIG: 'config.yaml' };

describe('grant store settings', () => {
  it('defaults to the YAML store, a 10 s bound and bounded caches', () => {
    expect(readSettings(base)).toMatchObject({
      BROKER_GRANT_STORE: 'yaml', BROKER_GRANT_STORE_MAX_STALENESS_SECONDS: 10,
      BROKER_GRANT_CACHE_ENTRIES: 20000, BROKER_GRANT_NEGATIVE_CACHE_ENTRIES: 10000,
      BROKER_DYNAMODB_TIMEOUT_MS: 1000, BROKER_DYNAMODB_MAX_ATTEMPTS: 2,
    });
  });

  it('needs a table name with the dynamodb store', () => {
    expect(() => readSettings({ ...base, BROKER_GRANT_STORE: 'dynamodb' })).toThrow('BROKER_GRANT_TABLE: required when BROKER_GRANT_STORE is dynamodb');
    expect(readSettings({ ...base, BROKER_GRANT_STORE: 'dynamodb', BROKER_GRANT_TABLE: 'sts-broker-grants' }).BROKER_GRANT_TABLE).toBe('sts-broker-grants');
  });

  it.each([
    [{ BROKER_GRANT_STORE: 'postgres' }, 'BROKER_GRANT_STORE: must be one of yaml, dynamodb'],
    [{ BROKER_GRANT_STORE: 'dynamodb', BROKER_GRANT_TABLE: 'ab' }, 'BROKER_GRANT_TABLE: must be a DynamoDB table name'],
    [{ BROKER_GRANT_STORE_MAX_STALENESS_SECONDS: '0' }, 'BROKER_GRANT_STORE_MAX_STALENESS_SECONDS'],
    [{ BROKER_GRANT_STORE_MAX_STALENESS_SECONDS: '301' }, 'BROKER_GRANT_STORE_MAX_STALENESS_SECONDS'],
    [{ BROKER_GRANT_NEGATIVE_CACHE_ENTRIES: '-1' }, 'BROKER_GRANT_NEGATIVE_CACHE_ENTRIES'],
    [{ BROKER_DYNAMODB_ENDPOINT: 'http://dynamodb.example.com' }, 'BROKER_DYNAMODB_ENDPOINT'],
  ])('refuses %j, naming the variable', (env, message) => {
    expect(() => readSettings({ ...base, ...env })).toThrow(ConfigError);
    expect(() => readSettings({ ...base, ...env })).toThrow(message);
  });

  it('allows a loopback http DynamoDB endpoint only with allowInsecureLoopbackHttp', () => {
    const settings = readSettings({ ...base, BROKER_DYNAMODB_ENDPOINT: 'http://127.0.0.1:4569' });
    expect(endpointOverrideIssues(settings, false)).toEqual([expect.stringMatching(/^BROKER_DYNAMODB_ENDPOINT: /)]);
    expect(endpointOverrideIssues(settings, true)).toEqual([]);
  });
});

describe('the config per grant store', () => {
  it('the YAML store needs at least one partner', () => {
    expect(checkConfigText('allowInsecureLoopbackHttp: true\n').issues).toEqual([{ path: 'partners', message: 'at least one partner is required' }]);
    expect(checkConfigText('partners: {}\n').issues).toEqual([{ path: 'partners', message: 'at least one partner is required' }]);
  });

  it('the DynamoDB store takes a config without partners and refuses one with partners', () => {
    expect(checkConfigText('allowInsecureLoopbackHttp: true\n', { grantStore: 'dynamodb' })).toMatchObject({ issues: [], config: { allowInsecureLoopbackHttp: true, partners: {} } });
    expect(checkConfigText(configYaml(), { grantStore: 'dynamodb' }).issues).toEqual([{ path: 'partners', message: expect.stringContaining('must be empty with BROKER_GRANT_STORE=dynamodb') }]);
  });
});

describe('cold start store choice', () => {
  it('a function built without the table reader answers /health without a read and refuses lookups as a wiring bug', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'grant-store-settings-'));
    try {
      const config = join(dir, 'broker.yaml');
      writeFileSync(config, 'allowInsecureLoopbackHttp: false\n');
      const deps = coldStartWithoutAws({ env: { BROKER_CONFIG: config, BROKER_GRANT_STORE: 'dynamodb', BROKER_GRANT_TABLE: 'grants' } });
      expect(await deps.store.version()).toBe(TABLE_NOT_READ_VERSION);
      await expect(deps.store.findApiKey('k1')).rejects.toThrow(InternalError);
      expect(() => coldStartWithoutAws({ env: { BROKER_CONFIG: config } })).toThrow('at least one partner is required');
      // whoami / preflight: the table reader, built without any read at cold start
      const reader = coldStartWithGrantTable({ env: { BROKER_CONFIG: config, BROKER_GRANT_STORE: 'dynamodb', BROKER_GRANT_TABLE: 'grants', AWS_REGION: 'eu-west-1' } });
      expect(reader.store).toBeInstanceOf(DynamoGrantStore);
      expect(await reader.store.version()).toBe(UNCONFIRMED_VERSION);
      // the yaml store never builds a table client, even where the reader is wired
      const yamlConfig = join(dir, 'yaml.yaml');
      writeFileSync(yamlConfig, configYaml());
      expect(coldStartWithGrantTable({ env: { BROKER_CONFIG: yamlConfig } }).store).toBeInstanceOf(YamlGrantStore);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
