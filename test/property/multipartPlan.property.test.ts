/**
 * The multipart plan guards the object's size (the grant's maxUploadBytes binds through it), so its
 * arithmetic is checked over every declaration S3 could accept, not a few examples: parts sum to
 * contentLength exactly, all but the last are partSize and at least 5 MiB, none exceeds 5 GiB,
 * there are at most 10000; any other declaration is refused with a 400 naming a rule it breaks.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { MAX_MULTIPART_PARTS, MAX_PART_BYTES, MIN_PART_BYTES } from '../../src/rules/limits.js';
import {
  checkUploadedParts, declarationViolations, defaultPartSize, MAX_MULTIPART_OBJECT_BYTES, partLength, planMultipart, type MultipartPlan,
} from '../../src/rules/multipartPlan.js';
import { InvalidRequestError, UploadMismatchError } from '../../src/domain/errors.js';

const RUNS = 5000;

/** S3's layout rules, checked part by part (plain arithmetic in the loop: up to 10000 parts per run). */
function assertLayout(plan: MultipartPlan): void {
  expect(plan.partCount).toBeGreaterThanOrEqual(1);
  expect(plan.partCount).toBeLessThanOrEqual(MAX_MULTIPART_PARTS);
  let sum = 0;
  let bad = 0;
  for (let n = 1; n <= plan.partCount; n++) {
    const length = partLength(plan, n);
    const last = n === plan.partCount;
    if (length > MAX_PART_BYTES || length < 1 || (!last && (length !== plan.partSize || length < MIN_PART_BYTES))) bad++;
    sum += length;
  }
  expect({ sum, badParts: bad }).toEqual({ sum: plan.contentLength, badParts: 0 });
}

/** Sizes across the whole range, weighted toward the part-size boundaries where mistakes live. */
const contentLength = fc.oneof(
  fc.integer({ min: 1, max: 64 * 1024 ** 2 }),
  fc.integer({ min: 1, max: MAX_MULTIPART_OBJECT_BYTES }),
  fc.tuple(fc.integer({ min: 1, max: 10000 }), fc.constantFrom(MIN_PART_BYTES, 8 * 1024 ** 2, MAX_PART_BYTES), fc.integer({ min: -1, max: 1 }))
    .map(([n, size, delta]) => Math.max(1, Math.min(MAX_MULTIPART_OBJECT_BYTES, n * size + delta))),
);
const anyPartSize = fc.oneof(
  fc.integer({ min: MIN_PART_BYTES - 2, max: MIN_PART_BYTES + 2 }),
  fc.integer({ min: MAX_PART_BYTES - 2, max: MAX_PART_BYTES + 2 }),
  fc.integer({ min: 1, max: 2 * MAX_PART_BYTES }),
);

describe('planMultipart (property)', () => {
  it('with the default part size: a valid layout for every size S3 can assemble, 8 MiB unless more than 10000 parts would need more', () => {
    fc.assert(fc.property(contentLength, (length) => {
      const plan = planMultipart(length);
      assertLayout(plan);
      expect(plan.partSize).toBe(defaultPartSize(length));
      // the default is the smallest size ≥ 8 MiB that fits: one byte less would need more than 10000 parts
      if (plan.partSize > 8 * 1024 ** 2) expect(Math.ceil(length / (plan.partSize - 1))).toBeGreaterThan(MAX_MULTIPART_PARTS);
    }), { numRuns: RUNS });
  });

  it('with any part size: either a valid layout or a 400 naming each broken rule, never anything else', () => {
    fc.assert(fc.property(contentLength, anyPartSize, (length, size) => {
      const broken = declarationViolations(length, size);
      if (broken.length === 0) {
        assertLayout(planMultipart(length, size));
        return;
      }
      let error: unknown;
      try { planMultipart(length, size); } catch (e) { error = e; }
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect((error as Error).message).toBe(broken.join('; '));
      // each message names a rule the declaration really breaks
      for (const message of broken) {
        const real = (message.includes('below S3\'s minimum') && size < MIN_PART_BYTES)
          || (message.includes('maximum part size') && size > MAX_PART_BYTES)
          || (message.includes('S3 allows at most 10000') && Math.ceil(length / size) > MAX_MULTIPART_PARTS);
        expect({ message, real }).toEqual({ message, real: true });
      }
    }), { numRuns: RUNS });
  });

  it('completion accepts exactly the planned layout, and refuses any other part sizes', () => {
    const small = fc.tuple(fc.integer({ min: 1, max: 40 * 1024 ** 2 }), fc.integer({ min: MIN_PART_BYTES, max: 12 * 1024 ** 2 }));
    fc.assert(fc.property(small, fc.integer({ min: 0, max: 1000 }), fc.integer({ min: -3, max: 3 }).filter((d) => d !== 0), ([length, size], pick, delta) => {
      const plan = planMultipart(length, size);
      const exact = Array.from({ length: plan.partCount }, (_, i) => ({ partNumber: i + 1, size: partLength(plan, i + 1), etag: `"e${i + 1}"` }));
      const sent = exact.map((p) => ({ partNumber: p.partNumber, etag: p.etag }));
      expect(() => checkUploadedParts(plan, sent, exact)).not.toThrow();
      const victim = (pick % plan.partCount) + 1;
      const changed = exact.map((p) => (p.partNumber === victim ? { ...p, size: Math.max(0, p.size + delta) } : p));
      if (changed[victim - 1]!.size === exact[victim - 1]!.size) return;
      expect(() => checkUploadedParts(plan, sent, changed)).toThrow(UploadMismatchError);
    }), { numRuns: 1000 });
  });
});
