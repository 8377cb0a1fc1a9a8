/**
 * The config and the settings are parsed without zod's JIT at cold start (config/load.ts,
 * config/settings.ts: one parse per container, so compiling a parser first only costs). The JIT is
 * an optimisation, never a different rule: for valid and broken inputs alike, both modes must give
 * the same verdict, the same data and the same issues.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import * as z from 'zod';
import { configSchema } from '../../src/config/schema.js';
import { configObject } from '../support/configFixture.js';

/** Every path in a plain value (objects and arrays), the root included. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return [prefix];
  const keys: (string | number)[] = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return [prefix, ...keys.flatMap((k) => paths((value as Record<string | number, unknown>)[k], [...prefix, k]))];
}

/** A copy of `value` with the node at `path` replaced (or deleted when `replacement` is the DELETE marker). */
const DELETE = Symbol('delete');
function withNode(value: unknown, path: (string | number)[], replacement: unknown): unknown {
  if (path.length === 0) return replacement === DELETE ? undefined : replacement;
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (replacement === DELETE) delete node[last];
  else node[last] = replacement;
  return copy;
}

/** Both modes on one input: verdict, data and issues (messages, codes, paths) must agree. */
function bothModes(schema: z.ZodType, input: unknown): void {
  const jit = schema.safeParse(structuredClone(input));
  const jitless = schema.safeParse(structuredClone(input), { jitless: true });
  expect(jitless.success).toBe(jit.success);
  if (jit.success && jitless.success) expect(jitless.data).toEqual(jit.data);
  else expect(jitless.error?.issues).toEqual(jit.error?.issues);
}

const base = configObject();
const basePaths = paths(base);
const junk = fc.oneof(fc.constant(DELETE), fc.anything({ maxDepth: 2 }), fc.string(), fc.integer(), fc.constant(null), fc.constant('2027-06-30'));

describe('zod JIT on or off', () => {
  it('the fixture config parses the same in both modes', () => bothModes(configSchema, base));

  it('configs broken at up to three random places give the same verdict, data and issues in both modes', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.constantFrom(...basePaths), junk), { minLength: 1, maxLength: 3 }), fc.option(fc.string({ minLength: 1, maxLength: 8 })), (edits, extraKey) => {
      let input: unknown = base;
      for (const [path, replacement] of edits) {
        try {
          input = withNode(input, path, replacement);
        } catch {
          // an earlier edit removed or replaced this path's parent: skip this edit
        }
      }
      if (extraKey !== null && input !== null && typeof input === 'object' && !Array.isArray(input)) input = { ...input, [extraKey]: 1 };
      bothModes(configSchema, input);
    }), { numRuns: 300 });
  });
});
