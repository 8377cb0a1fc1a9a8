import { describe, expect, it } from '@jest/globals';
import { MAX_MULTIPART_PARTS, MAX_PART_BYTES, MIN_PART_BYTES } from '../../src/rules/limits.js';
import {
  checkCompletionList, checkPartNumbers, checkUploadedParts, DEFAULT_PART_BYTES, defaultPartSize, MAX_MULTIPART_OBJECT_BYTES,
  MAX_PART_URLS_PER_CALL, partLength, planForGrant, planMultipart, ranges, unquote,
} from '../../src/rules/multipartPlan.js';
import { InvalidRequestError, TooLargeError, UploadMismatchError } from '../../src/domain/errors.js';
import type { Grant } from '../../src/domain/model.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

describe('S3 multipart limits: the numbers', () => {
  it('match the documented S3 values', () => {
    expect(MAX_MULTIPART_PARTS).toBe(10000);
    expect(MIN_PART_BYTES).toBe(5 * MiB);
    expect(MAX_PART_BYTES).toBe(5 * GiB);
    expect(DEFAULT_PART_BYTES).toBe(8 * MiB);
    expect(MAX_PART_URLS_PER_CALL).toBe(100);
    expect(MAX_MULTIPART_OBJECT_BYTES).toBe(10000 * 5 * GiB);
  });
});

describe('defaultPartSize: 8 MiB, or the smallest that keeps partCount ≤ 10000', () => {
  it.each([
    ['1 byte', 1, 8 * MiB],
    ['exactly 10000 × 8 MiB', 10000 * 8 * MiB, 8 * MiB],
    ['one byte more', 10000 * 8 * MiB + 1, 8 * MiB + 1],
    ['100 GiB', 100 * GiB, Math.ceil((100 * GiB) / 10000)],
    ['beyond what S3 can assemble (capped at 5 GiB)', MAX_MULTIPART_OBJECT_BYTES + 1, 5 * GiB],
  ])('%s', (_label, contentLength, expected) => {
    expect(defaultPartSize(contentLength)).toBe(expected);
  });

  it('yields at most 10000 parts for every size S3 can assemble', () => {
    for (const contentLength of [10000 * 8 * MiB + 1, 123456789012, MAX_MULTIPART_OBJECT_BYTES]) {
      expect(planMultipart(contentLength).partCount).toBeLessThanOrEqual(10000);
    }
  });
});

describe('planMultipart', () => {
  it.each([
    ['20 MiB in 5 MiB parts', 20 * MiB, 5 * MiB, { partCount: 4, lastPartSize: 5 * MiB }],
    ['20 MiB + 1 in 5 MiB parts', 20 * MiB + 1, 5 * MiB, { partCount: 5, lastPartSize: 1 }],
    ['1 byte, default part size', 1, undefined, { partSize: 8 * MiB, partCount: 1, lastPartSize: 1 }],
    ['smaller than one part', 3 * MiB, 5 * MiB, { partCount: 1, lastPartSize: 3 * MiB }],
    ['exactly 10000 parts of the minimum', 10000 * 5 * MiB, 5 * MiB, { partCount: 10000, lastPartSize: 5 * MiB }],
    ['the maximum part size', 6 * GiB, 5 * GiB, { partCount: 2, lastPartSize: GiB }],
  ])('%s', (_label, contentLength, partSize, expected) => {
    expect(planMultipart(contentLength, partSize)).toMatchObject({ contentLength, ...expected });
  });

  it.each([
    ['a part size 1 byte under 5 MiB', 20 * MiB, 5 * MiB - 1, 'partSize 5242879 is below S3\'s minimum part size of 5242880 bytes (5 MiB; only the last part may be smaller)'],
    ['a part size 1 byte over 5 GiB', 20 * GiB, 5 * GiB + 1, 'partSize 5368709121 exceeds S3\'s maximum part size of 5368709120 bytes (5 GiB)'],
    ['10001 parts', 10000 * 5 * MiB + 1, 5 * MiB, 'contentLength 52428800001 in parts of 5242880 bytes needs 10001 parts; S3 allows at most 10000: use a partSize of at least 5242881'],
    ['an empty object', 0, 5 * MiB, 'contentLength must be a whole number of bytes, at least 1 (got 0); an empty object is a single PUT (POST /v1/uploads)'],
    ['a fractional part size', 20 * MiB, 5 * MiB + 0.5, 'partSize must be a whole number of bytes (got 5242880.5)'],
    ['more than S3 can assemble', MAX_MULTIPART_OBJECT_BYTES + 1, undefined, 'contentLength 53687091200001 exceeds what S3 can assemble: 10000 parts of at most 5368709120 bytes'],
  ])('refuses %s, naming the rule', (_label, contentLength, partSize, message) => {
    expect(() => planMultipart(contentLength, partSize)).toThrow(InvalidRequestError);
    expect(() => planMultipart(contentLength, partSize)).toThrow(message);
  });

  it('names every rule a declaration breaks, in one message', () => {
    expect(() => planMultipart(-1, 1)).toThrow(
      'contentLength must be a whole number of bytes, at least 1 (got -1); an empty object is a single PUT (POST /v1/uploads); '
      + 'partSize 1 is below S3\'s minimum part size of 5242880 bytes (5 MiB; only the last part may be smaller)',
    );
  });
});

describe('planForGrant', () => {
  const grant = { client: { maxUploadBytes: 20 * MiB } } as Grant;

  it('accepts exactly maxUploadBytes', () => {
    expect(planForGrant(grant, { contentLength: 20 * MiB, partSize: 5 * MiB }).partCount).toBe(4);
  });

  it('refuses one byte more with 413 before the S3 rules', () => {
    expect(() => planForGrant(grant, { contentLength: 20 * MiB + 1, partSize: 1 })).toThrow(TooLargeError);
    expect(() => planForGrant(grant, { contentLength: 20 * MiB + 1, partSize: 1 })).toThrow('contentLength 20971521 exceeds this client\'s maxUploadBytes 20971520');
  });
});

describe('partLength', () => {
  const plan = planMultipart(20 * MiB + 7, 5 * MiB);

  it('is partSize for every part but the last, and the remainder for the last', () => {
    expect([1, 2, 3, 4, 5].map((n) => partLength(plan, n))).toEqual([5 * MiB, 5 * MiB, 5 * MiB, 5 * MiB, 7]);
  });

  it.each([0, 6, 1.5])('throws for part %s (outside 1..partCount)', (n) => {
    expect(() => partLength(plan, n)).toThrow(RangeError);
  });
});

describe('checkPartNumbers', () => {
  const plan = planMultipart(20 * MiB, 5 * MiB);

  it('accepts distinct part numbers within 1..partCount, in any order', () => {
    expect(() => checkPartNumbers(plan, [4, 1, 3])).not.toThrow();
  });

  it.each([
    ['a duplicate', [1, 2, 2, 3, 3], 'partNumbers lists 2-3 more than once'],
    ['a part beyond partCount', [4, 5], 'part 5 beyond partCount 4 (contentLength 20971520 in parts of 5242880 bytes)'],
    ['several beyond partCount', [5, 6, 9], 'parts 5-6, 9 beyond partCount 4'],
    ['an empty batch', [], 'partNumbers must list 1 to 100 parts per call (got 0)'],
  ])('refuses %s', (_label, numbers, message) => {
    expect(() => checkPartNumbers(plan, numbers)).toThrow(InvalidRequestError);
    expect(() => checkPartNumbers(plan, numbers)).toThrow(message);
  });

  it('refuses a batch of 101', () => {
    const big = planMultipart(200 * 5 * MiB, 5 * MiB);
    const numbers = Array.from({ length: 101 }, (_, i) => i + 1);
    expect(() => checkPartNumbers(big, numbers)).toThrow('partNumbers must list 1 to 100 parts per call (got 101)');
    expect(() => checkPartNumbers(big, numbers.slice(0, 100))).not.toThrow();
  });
});

describe('checkCompletionList', () => {
  const plan = planMultipart(20 * MiB, 5 * MiB);
  const list = (...ns: number[]) => ns.map((partNumber) => ({ partNumber, etag: 'e' }));

  it('accepts every part exactly once, in any order', () => {
    expect(() => checkCompletionList(plan, list(3, 1, 4, 2))).not.toThrow();
  });

  it.each([
    ['a missing part', list(1, 2, 4), 'parts must list every part 1..4; missing 3'],
    ['a duplicate', list(1, 2, 2, 3, 4), 'parts lists 2 more than once'],
    ['a part beyond partCount', list(1, 2, 3, 4, 5), 'parts lists 5 beyond partCount 4'],
  ])('refuses %s', (_label, parts, message) => {
    expect(() => checkCompletionList(plan, parts)).toThrow(InvalidRequestError);
    expect(() => checkCompletionList(plan, parts)).toThrow(message);
  });
});

describe('checkUploadedParts: S3\'s ListParts against the declaration and the client\'s ETags', () => {
  const plan = planMultipart(15 * MiB + 10, 5 * MiB);
  const sizes = [5 * MiB, 5 * MiB, 5 * MiB, 10];
  const uploaded = sizes.map((size, i) => ({ partNumber: i + 1, size, etag: `"etag${i + 1}"` }));
  const sent = uploaded.map((p) => ({ partNumber: p.partNumber, etag: p.etag }));

  it('accepts exactly 1..partCount with the planned sizes and the sent ETags (quoted or not)', () => {
    expect(() => checkUploadedParts(plan, sent, uploaded)).not.toThrow();
    expect(() => checkUploadedParts(plan, sent.map((p) => ({ ...p, etag: unquote(p.etag) })), uploaded)).not.toThrow();
  });

  type Change = { sent?: typeof sent; uploaded?: typeof uploaded };
  it.each<[string, Change, string]>([
    ['a part never uploaded', { uploaded: uploaded.filter((p) => p.partNumber !== 2) }, 'not uploaded: part 2'],
    ['parts never uploaded', { uploaded: uploaded.slice(0, 1) }, 'not uploaded: parts 2-4'],
    ['a part of the wrong size', { uploaded: uploaded.map((p) => (p.partNumber === 2 ? { ...p, size: 5 * MiB + 1 } : p)) }, 'part 2 is 5242881 bytes, the declaration requires 5242880'],
    ['a last part of the wrong size', { uploaded: uploaded.map((p) => (p.partNumber === 4 ? { ...p, size: 11 } : p)) }, 'part 4 is 11 bytes, the declaration requires 10'],
    ['a part beyond partCount', { uploaded: [...uploaded, { partNumber: 5, size: 1, etag: '"x"' }] }, 'uploaded beyond partCount 4: part 5'],
    ['an ETag other than the one sent', { sent: sent.map((p) => (p.partNumber === 3 ? { ...p, etag: '"other"' } : p)) }, 'part 3\'s ETag is "etag3", not the one sent'],
  ])('refuses %s with upload_mismatch naming it', (_label, change, message) => {
    const run = () => checkUploadedParts(plan, change.sent ?? sent, change.uploaded ?? uploaded);
    expect(run).toThrow(UploadMismatchError);
    expect(run).toThrow(`the upload does not match its declaration: ${message}`);
  });

  it('names several differences at once, and bounds the list', () => {
    const big = planMultipart(30 * 5 * MiB, 5 * MiB);
    const wrong = Array.from({ length: 30 }, (_, i) => ({ partNumber: i + 1, size: 1, etag: '"e"' }));
    let message = '';
    try {
      checkUploadedParts(big, wrong.map((p) => ({ partNumber: p.partNumber, etag: p.etag })), wrong.slice(1));
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('not uploaded: part 1; part 2 is 1 bytes, the declaration requires 5242880; ');
    expect(message).toContain('part 11 is 1 bytes');
    expect(message).not.toContain('part 12 is');
    expect(message).toMatch(/; and 19 more$/);
  });
});

describe('ranges', () => {
  it.each([
    [[1], '1'],
    [[3, 1, 2, 7, 9, 10], '1-3, 7, 9-10'],
    [[5, 5, 6], '5-6'],
    [Array.from({ length: 12 }, (_, i) => i * 2), '0, 2, 4, 6, 8, 10, 12, 14, 16, 18, …'],
  ])('%j → %s', (numbers, text) => {
    expect(ranges(numbers)).toBe(text);
  });
});
