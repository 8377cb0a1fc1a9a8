/**
 * examples/checksum.ts, the checksum the fetch-only examples declare under an upload contract: base64 of the
 * digest as S3 spells it (`printf hello | openssl <alg> -binary | base64`), for any Blob. The gateway proof of md5
 * (a changed body refused) is test/e2e/clientsContract.test.ts; sha256 here runs through Web Crypto, the browsers' path.
 */
import { describe, expect, test } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { checksumOf } from '../../examples/checksum.js';

describe('examples/checksum.ts', () => {
  test('known digests of "hello"', async () => {
    const hello = new Blob(['hello']);
    expect(await checksumOf('md5', hello)).toBe('XUFAKrxLKna5cZ2REBfFkg==');
    expect(await checksumOf('sha256', hello)).toBe('LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=');
  });

  test('a Blob of several pieces hashes as its whole bytes; the empty Blob too', async () => {
    const bytes = randomBytes(100_000);
    const blob = new Blob([bytes.subarray(0, 12_345), bytes.subarray(12_345)]);
    for (const algorithm of ['md5', 'sha256'] as const) {
      expect(await checksumOf(algorithm, blob)).toBe(createHash(algorithm).update(bytes).digest('base64'));
      expect(await checksumOf(algorithm, new Blob([]))).toBe(createHash(algorithm).digest('base64'));
    }
  });
});
