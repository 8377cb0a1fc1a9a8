import { expect, test } from '@jest/globals';
import { readStack } from './support/stack.js';
import { api, vend } from './support/helpers.js';
test('smoke', async () => {
  const s = readStack();
  const h = await api(s, '/health');
  console.log(h.status, h.body);
  const w = await api(s, '/v1/whoami', { key: s.keys.acme.backend });
  console.log(w.status, JSON.stringify(w.body));
  const v = await api(s, '/v1/credentials', { key: s.keys.acme.backend, body: {} });
  console.log(v.status, JSON.stringify(v.body).slice(0, 300), [...v.headers.entries()]);
  expect(h.status).toBe(200);
});
