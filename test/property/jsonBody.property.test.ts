/**
 * The JSON body parser (src/http/jsonBody.ts) skips its prototype-guarding reviver when the text
 * cannot hold a forbidden key. For any JSON text (keys drawn to include `__proto__`, `constructor`,
 * `prototype` and their \\u-escaped spellings), the fast path and the guarded parse agree: the same
 * value, or both refuse.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { parseJsonProtectingPrototypes } from '../../src/http/jsonBody.js';

/** The guarded parse alone, as it was before the fast path. */
function guarded(text: string): unknown {
  return JSON.parse(text, (key, value: unknown) => {
    if (key === '__proto__' || (key === 'constructor' && typeof value === 'object' && value !== null && Object.hasOwn(value, 'prototype'))) {
      throw new Error('forbidden');
    }
    return value;
  });
}
const outcome = (parse: (text: string) => unknown, text: string): { ok: true; value: unknown } | { ok: false } => {
  try {
    return { ok: true, value: parse(text) };
  } catch {
    return { ok: false };
  }
};

const keys = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'key', 'method', 'contentType'),
  fc.string({ maxLength: 8 }),
);
const leaf = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null));
const { tree } = fc.letrec((tie) => ({
  tree: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('tree'), { maxLength: 3 }), fc.dictionary(keys, tie('tree'), { maxKeys: 4 })),
}));
/** JSON text, sometimes with every `_` or `o` in keys escaped as \\u005f / \\u006f (the same keys, spelled otherwise). */
const text = fc.tuple(tree, fc.constantFrom('plain', 'escape_', 'escapeo')).map(([value, spelling]) => {
  const json = JSON.stringify(value);
  if (spelling === 'plain') return json;
  const [char, code] = spelling === 'escape_' ? ['_', '\\u005f'] : ['o', '\\u006f'];
  return json.replace(/"((?:[^"\\]|\\.)*)":/g, (_m, k: string) => `"${k.split(char).join(code)}":`);
});

describe('JSON body: the fast path agrees with the guarded parse', () => {
  it('for any text: same value, or both refuse', () => {
    fc.assert(fc.property(text, (t) => {
      const fast = outcome(parseJsonProtectingPrototypes, t);
      const slow = outcome(guarded, t);
      expect(fast.ok).toBe(slow.ok);
      if (fast.ok && slow.ok) expect(JSON.stringify(fast.value)).toBe(JSON.stringify(slow.value));
    }), { numRuns: 2000 });
  });

  it('refuses the escaped spellings (the reason a backslash forces the guarded parse)', () => {
    expect(() => parseJsonProtectingPrototypes('{"\\u005f_proto__":{"a":1}}')).toThrow();
    expect(() => parseJsonProtectingPrototypes('{"c\\u006fnstructor":{"prototype":{}}}')).toThrow();
    expect(() => parseJsonProtectingPrototypes('{"__proto__":{}}')).toThrow();
    expect(parseJsonProtectingPrototypes('{"key":"a.jpg","n":1}')).toEqual({ key: 'a.jpg', n: 1 });
  });
});
