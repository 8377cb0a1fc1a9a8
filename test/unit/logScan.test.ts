/**
 * The no-secret-in-logs check (scripts/lib/logScan.ts, run by scripts/check-logs.ts after the
 * suites) must be able to fail: planted secrets are found in every form a log line could carry them.
 * Everything here is in memory: nothing secret-shaped is written to this run's own logs.
 */
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ACCESS_KEY_ID, LOG_CAPTURE_ENV, readCapture, recordResponseSecrets, recordSecrets, redact, scanForSecrets, SECRETS_PREFIX,
} from '../../scripts/lib/logScan.js';

// Assembled at run time so this file's text never matches the patterns it tests.
const SECRET_KEY = ['wJalrXUtnFEMI', 'K7MDENG/bPxRfiCY', 'EXAMPLEKEY+3x'].join('');
const TOKEN = ['FwoGZXIvYXdzE', 'BAaDGexample', 'Token/with+base64=chars'.repeat(3)].join('');
const API_KEY = ['sbk', 'k1', 'Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5'].join('_');
const HEADER = Buffer.from('{"alg":"ES256"}').toString('base64url');
const PAYLOAD = Buffer.from('{"sub":"alice","exp":1}').toString('base64url');
const JWT = [HEADER, PAYLOAD, 'c2lnbmF0dXJlLWJ5dGVzLW9mLWEtcmVhbC1rZXk'].join('.');
const SIGNATURE = 'ab'.repeat(32);

const log = (text: string) => [{ name: 'unit-1.log', text }];

describe('scanForSecrets', () => {
  it('finds nothing in clean audit lines', () => {
    const clean = '{"level":"INFO","message":"issued","partner":"acme","client":"backend","subject":"acmek1","key":"acme/a.pdf"}\n';
    expect(scanForSecrets(log(clean), [SECRET_KEY, TOKEN, API_KEY])).toEqual([]);
  });

  it.each<[string, string]>([
    ['as is', `{"message":"debug","secret":"${SECRET_KEY}"}`],
    ['JSON-escaped', JSON.stringify({ nested: JSON.stringify({ s: SECRET_KEY }) })],
    ['URL-encoded', `url=https://b.s3.amazonaws.com/k?X-Amz-Credential=${encodeURIComponent(SECRET_KEY)}`],
    ['truncated to its first 32 characters', `{"errorMessage":"${SECRET_KEY.slice(0, 32)}…"}`],
  ])('finds a recorded secret %s, naming file and line but not the secret', (_how, line) => {
    const findings = scanForSecrets(log(`first line\n${line}\n`), [SECRET_KEY]);
    expect(findings).toEqual([{ file: 'unit-1.log', line: 2, what: `recorded secret ${redact(SECRET_KEY)}` }]);
    expect(JSON.stringify(findings)).not.toContain(SECRET_KEY.slice(4, 16));
  });

  it('finds a session token inside a presigned URL', () => {
    const findings = scanForSecrets(log(`GET /x?X-Amz-Security-Token=${encodeURIComponent(TOKEN)}&a=b`), [TOKEN]);
    expect(findings.map((f) => f.what)).toEqual(expect.arrayContaining([`recorded secret ${redact(TOKEN)}`, 'session token in a URL or form']));
  });

  it.each<[string, string]>([
    ['API key', `{"header":"${API_KEY}"}`],
    ['signed JWT', `authorization: Bearer ${JWT}`],
    ['presigned URL signature', `https://b.s3.amazonaws.com/k?X-Amz-Signature=${SIGNATURE}`],
    ['presigned URL signature', `{"fields":{"X-Amz-Signature":"${SIGNATURE}"}}`],
    ['credentials in JSON', `{"credentials":{"secretAccessKey":"${SECRET_KEY}"}}`],
  ])('finds an unrecorded %s by its shape', (what, line) => {
    expect(scanForSecrets(log(line), []).map((f) => f.what)).toContain(what);
  });

  it('ignores secrets too short to tell from ordinary words', () => {
    expect(scanForSecrets(log('the key acmek1 was used'), ['acmek1'])).toEqual([]);
  });
});

describe('AccessKeyIds in audit lines: an identifier, not a secret', () => {
  // An STS session as the fake issuer mints it; assembled so this file never holds a finished secret.
  const ACCESS_KEY = ['ASIA', 'EXAMPLE', '7Q2Z9KX4'].join('');
  const audit = (extra = '') =>
    `{"level":"INFO","message":"issued","audit":true,"partner":"acme","client":"backend","action":"credentials","sessionName":"sbk-acme-backend-acmek1","accessKeyId":"${ACCESS_KEY}"${extra}}`;

  it('an audit line naming the session\'s AccessKeyId is clean, with its secret key and token recorded', () => {
    expect(ACCESS_KEY_ID.test(ACCESS_KEY)).toBe(true);
    expect(scanForSecrets(log(`${audit()}\n`), [SECRET_KEY, TOKEN])).toEqual([]);
  });

  it.each<[string, string, string]>([
    ['secret access key', `,"debug":"${SECRET_KEY}"`, `recorded secret ${redact(SECRET_KEY)}`],
    ['session token', `,"token":"${TOKEN}"`, `recorded secret ${redact(TOKEN)}`],
    ['secret access key, unrecorded, by its field', `,"secretAccessKey":"${SECRET_KEY}"`, 'credentials in JSON'],
    ['session token, unrecorded, by its field', `,"sessionToken":"${TOKEN}"`, 'credentials in JSON'],
  ])('the same line still fails the check when it also carries the %s', (_what, extra, finding) => {
    const secrets = finding.startsWith('recorded') ? [SECRET_KEY, TOKEN] : [];
    expect(scanForSecrets(log(audit(extra)), secrets).map((f) => f.what)).toContain(finding);
  });

  it('recordSecrets and recordResponseSecrets never record an AccessKeyId, and do record the secret key and token', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sts-broker-logscan-record-'));
    const saved = process.env[LOG_CAPTURE_ENV];
    // fresh values: the recorder de-duplicates across the whole worker
    const suffix = Date.now().toString(36).toUpperCase();
    const id = `ASIARECORD${suffix}`.slice(0, 20).padEnd(20, 'X');
    const secret = `${SECRET_KEY}${suffix}`;
    const token = `${TOKEN}${suffix}`;
    let recorded: string[] = [];
    process.env[LOG_CAPTURE_ENV] = dir;
    try {
      recordSecrets(id);
      recordResponseSecrets({ credentials: { accessKeyId: id, secretAccessKey: secret, sessionToken: token } });
      recordResponseSecrets({ AccessKeyId: id, SecretAccessKey: secret, Token: token });
    } finally {
      if (saved === undefined) delete process.env[LOG_CAPTURE_ENV];
      else process.env[LOG_CAPTURE_ENV] = saved;
    }
    try {
      recorded = readdirSync(dir).filter((n) => n.startsWith(SECRETS_PREFIX))
        .flatMap((n) => readFileSync(join(dir, n), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as string));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(recorded.sort()).toEqual([secret, token].sort());
  });
});

describe('readCapture', () => {
  it('reads every *.log and every secrets file of a capture directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sts-broker-logscan-'));
    try {
      writeFileSync(join(dir, 'unit-1.log'), 'a\n');
      writeFileSync(join(dir, 'e2e-offline.log'), `leak ${SECRET_KEY}\n`);
      writeFileSync(join(dir, 'secrets-1.txt'), `${JSON.stringify(SECRET_KEY)}\n${JSON.stringify(TOKEN)}\n`);
      writeFileSync(join(dir, 'notes.txt'), SECRET_KEY);
      const { logs, secrets } = readCapture(dir);
      expect(logs.map((l) => l.name).sort()).toEqual(['e2e-offline.log', 'unit-1.log']);
      expect(secrets).toEqual([SECRET_KEY, TOKEN]);
      expect(scanForSecrets(logs, secrets)).toEqual([{ file: 'e2e-offline.log', line: 1, what: `recorded secret ${redact(SECRET_KEY)}` }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
