/**
 * Multipart upload arithmetic and rules, pure. The broker keeps no state and S3 offers no way to
 * read an in-progress upload's declared size, so the client re-sends its declaration
 * (`contentLength`, `partSize`) on every call and each call re-derives the same plan from it: part
 * N's exact length is signed into its URL, and completion checks S3's ListParts against the plan.
 * The final object therefore always has exactly the declared length, which never exceeds the grant.
 */
import { MAX_MULTIPART_PARTS, MAX_PART_BYTES, MIN_PART_BYTES } from './limits.js';
import { InvalidRequestError, TooLargeError, UploadMismatchError } from '../domain/errors.js';
import type { Grant, UploadedPart } from '../domain/model.js';

/** Part size when the client names none (unless the object needs larger parts to fit 10000). */
export const DEFAULT_PART_BYTES = 8 * 1024 ** 2;
/** Part URLs per call: enough for a steady pipeline, small enough that URLs are signed just in time. */
export const MAX_PART_URLS_PER_CALL = 100;
/** Problems listed per refusal; the rest are counted ("and 12 more"). */
const MAX_LISTED_PROBLEMS = 10;

/** The layout every call derives from the declaration: parts 1..partCount-1 are partSize, the last the remainder. */
export interface MultipartPlan {
  contentLength: number;
  partSize: number;
  partCount: number;
  lastPartSize: number;
}

/** The largest object S3 can assemble: 10000 parts of 5 GiB. */
export const MAX_MULTIPART_OBJECT_BYTES = MAX_MULTIPART_PARTS * MAX_PART_BYTES;

/** 8 MiB, or the smallest part size that keeps the part count within 10000 (never above 5 GiB). */
export function defaultPartSize(contentLength: number): number {
  return Math.min(MAX_PART_BYTES, Math.max(DEFAULT_PART_BYTES, Math.ceil(contentLength / MAX_MULTIPART_PARTS)));
}

/** Every S3 rule the declaration breaks, one message each; empty when it breaks none. */
export function declarationViolations(contentLength: number, partSize: number): string[] {
  const problems: string[] = [];
  if (!Number.isSafeInteger(contentLength) || contentLength < 1) {
    problems.push(`contentLength must be a whole number of bytes, at least 1 (got ${contentLength}); an empty object is a single PUT (POST /v1/uploads)`);
  } else if (contentLength > MAX_MULTIPART_OBJECT_BYTES) {
    problems.push(`contentLength ${contentLength} exceeds what S3 can assemble: ${MAX_MULTIPART_PARTS} parts of at most ${MAX_PART_BYTES} bytes`);
  }
  if (!Number.isSafeInteger(partSize)) problems.push(`partSize must be a whole number of bytes (got ${partSize})`);
  if (partSize < MIN_PART_BYTES) {
    problems.push(`partSize ${partSize} is below S3's minimum part size of ${MIN_PART_BYTES} bytes (5 MiB; only the last part may be smaller)`);
  }
  if (partSize > MAX_PART_BYTES) problems.push(`partSize ${partSize} exceeds S3's maximum part size of ${MAX_PART_BYTES} bytes (5 GiB)`);
  if (problems.length === 0) {
    const partCount = Math.ceil(contentLength / partSize);
    if (partCount > MAX_MULTIPART_PARTS) {
      problems.push(`contentLength ${contentLength} in parts of ${partSize} bytes needs ${partCount} parts; S3 allows at most ${MAX_MULTIPART_PARTS}: `
        + `use a partSize of at least ${Math.ceil(contentLength / MAX_MULTIPART_PARTS)}`);
    }
  }
  return problems;
}

/** The plan for a declaration; InvalidRequestError naming every rule it breaks. */
export function planMultipart(contentLength: number, partSize: number = defaultPartSize(contentLength)): MultipartPlan {
  const problems = declarationViolations(contentLength, partSize);
  if (problems.length > 0) throw new InvalidRequestError(problems.join('; '));
  const partCount = Math.ceil(contentLength / partSize);
  return { contentLength, partSize, partCount, lastPartSize: contentLength - (partCount - 1) * partSize };
}

/** The plan, after the grant's size limit (413, checked first: it is the limit that matters to the partner). */
export function planForGrant(grant: Grant, declaration: { contentLength: number; partSize?: number | undefined }): MultipartPlan {
  if (declaration.contentLength > grant.client.maxUploadBytes) {
    throw new TooLargeError(`contentLength ${declaration.contentLength} exceeds this client's maxUploadBytes ${grant.client.maxUploadBytes}`);
  }
  return planMultipart(declaration.contentLength, declaration.partSize);
}

/** The exact length of part `partNumber` (1-based) under `plan`. */
export function partLength(plan: MultipartPlan, partNumber: number): number {
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > plan.partCount) {
    throw new RangeError(`part ${partNumber} is outside 1..${plan.partCount}`);
  }
  return partNumber === plan.partCount ? plan.lastPartSize : plan.partSize;
}

/** A batch of part numbers to sign: 1..100 of them, no duplicates, none beyond partCount. */
export function checkPartNumbers(plan: MultipartPlan, partNumbers: readonly number[]): void {
  const problems: string[] = [];
  if (partNumbers.length === 0 || partNumbers.length > MAX_PART_URLS_PER_CALL) {
    problems.push(`partNumbers must list 1 to ${MAX_PART_URLS_PER_CALL} parts per call (got ${partNumbers.length})`);
  }
  const duplicates = duplicatesOf(partNumbers);
  if (duplicates.length > 0) problems.push(`partNumbers lists ${ranges(duplicates)} more than once`);
  const beyond = [...new Set(partNumbers.filter((n) => n > plan.partCount))];
  if (beyond.length > 0) {
    problems.push(`part${beyond.length > 1 ? 's' : ''} ${ranges(beyond)} beyond partCount ${plan.partCount} (contentLength ${plan.contentLength} in parts of ${plan.partSize} bytes)`);
  }
  if (problems.length > 0) throw new InvalidRequestError(problems.join('; '));
}

/** The client's list for completion: every part 1..partCount exactly once (any order). */
export function checkCompletionList(plan: MultipartPlan, parts: ReadonlyArray<{ partNumber: number }>): void {
  const numbers = parts.map((p) => p.partNumber);
  const problems: string[] = [];
  const duplicates = duplicatesOf(numbers);
  if (duplicates.length > 0) problems.push(`parts lists ${ranges(duplicates)} more than once`);
  const beyond = [...new Set(numbers.filter((n) => n > plan.partCount))];
  if (beyond.length > 0) problems.push(`parts lists ${ranges(beyond)} beyond partCount ${plan.partCount}`);
  const listed = new Set(numbers);
  const missing = missingFrom(listed, plan.partCount);
  if (missing.length > 0) problems.push(`parts must list every part 1..${plan.partCount}; missing ${ranges(missing)}`);
  if (problems.length > 0) throw new InvalidRequestError(problems.join('; '));
}

/**
 * What S3 holds against what the declaration and the client's ETags say, before completing:
 * exactly parts 1..partCount, each of exactly its planned length and with the ETag the client
 * received for it. UploadMismatchError names every difference (bounded).
 */
export function checkUploadedParts(plan: MultipartPlan, sent: ReadonlyArray<{ partNumber: number; etag: string }>, uploaded: readonly UploadedPart[]): void {
  const byNumber = new Map(uploaded.map((p) => [p.partNumber, p]));
  const problems: string[] = [];
  const missing = missingFrom(new Set(byNumber.keys()), plan.partCount);
  if (missing.length > 0) problems.push(`not uploaded: part${missing.length > 1 ? 's' : ''} ${ranges(missing)}`);
  const extra = [...byNumber.keys()].filter((n) => n > plan.partCount);
  if (extra.length > 0) problems.push(`uploaded beyond partCount ${plan.partCount}: part${extra.length > 1 ? 's' : ''} ${ranges(extra)}`);
  const sentEtags = new Map(sent.map((p) => [p.partNumber, p.etag]));
  const wrong: string[] = [];
  for (const part of [...uploaded].sort((a, b) => a.partNumber - b.partNumber)) {
    if (part.partNumber < 1 || part.partNumber > plan.partCount) continue;
    const expected = partLength(plan, part.partNumber);
    const etag = sentEtags.get(part.partNumber);
    if (part.size !== expected) wrong.push(`part ${part.partNumber} is ${part.size} bytes, the declaration requires ${expected}`);
    else if (etag === undefined || unquote(part.etag) !== unquote(etag)) wrong.push(`part ${part.partNumber}'s ETag is ${part.etag}, not the one sent`);
  }
  problems.push(...bounded(wrong));
  if (problems.length > 0) throw new UploadMismatchError(`the upload does not match its declaration: ${problems.join('; ')}`);
}

/** ETags arrive quoted from S3 and from browsers' ETag headers, sometimes unquoted from clients. */
export function unquote(etag: string): string {
  return etag.replace(/^"(.*)"$/, '$1');
}

function duplicatesOf(numbers: readonly number[]): number[] {
  const seen = new Set<number>();
  const dups = new Set<number>();
  for (const n of numbers) (seen.has(n) ? dups : seen).add(n);
  return [...dups];
}

function missingFrom(present: ReadonlySet<number>, partCount: number): number[] {
  const missing: number[] = [];
  for (let n = 1; n <= partCount; n++) if (!present.has(n)) missing.push(n);
  return missing;
}

function bounded(items: string[]): string[] {
  return items.length <= MAX_LISTED_PROBLEMS ? items : [...items.slice(0, MAX_LISTED_PROBLEMS), `and ${items.length - MAX_LISTED_PROBLEMS} more`];
}

/** `[1,2,3,7,9,10]` → "1-3, 7, 9-10"; at most MAX_LISTED_PROBLEMS runs, then "…". */
export function ranges(numbers: readonly number[]): string {
  const sorted = [...new Set(numbers)].sort((a, b) => a - b);
  const runs: string[] = [];
  let start = sorted[0];
  for (let i = 0; i < sorted.length; i++) {
    const n = sorted[i]!;
    const next = sorted[i + 1];
    if (next === n + 1) continue;
    runs.push(start === n ? String(n) : `${start}-${n}`);
    start = next;
  }
  return runs.length <= MAX_LISTED_PROBLEMS ? runs.join(', ') : `${runs.slice(0, MAX_LISTED_PROBLEMS).join(', ')}, …`;
}
