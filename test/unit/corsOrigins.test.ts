import { describe, expect, it } from '@jest/globals';
import { corsOriginProblem, crossChecks } from '../../src/config/crossChecks.js';
import { configSchema } from '../../src/config/schema.js';
import { configObject } from '../support/configFixture.js';

const ORIGIN_ONLY = (what: string) => `must not have ${what}: an origin is scheme://host[:port] only`;
const PATH = 'must not have a path or a trailing "/": an origin is scheme://host[:port] only';

function issuesFor(origins: string[], allowInsecureLoopbackHttp = false) {
  return crossChecks(configSchema.parse(configObject({ allowInsecureLoopbackHttp, partners: { acme: { clients: { app: { cors: { origins } } } } } })));
}

describe('cors.origins', () => {
  it.each(['https://app.acme.example', 'https://app.acme.example:8443', 'https://[2001:db8::1]', 'https://xn--bcher-kva.example'])('accepts %j', (origin) => {
    expect(issuesFor([origin])).toEqual([]);
  });

  it.each<[string, string]>([
    ['*', 'must not contain "*" (no wildcard origins): list each allowed origin, like https://app.example.com'],
    ['null', 'must not be "null": sandboxed frames, file: pages and redirects all send it, so it names no one'],
    ['NULL', 'must not be "null": sandboxed frames, file: pages and redirects all send it, so it names no one'],
    ['app.acme.example', 'must be an origin: scheme://host[:port], like https://app.example.com'],
    ['http://app.acme.example', 'must be an https origin (http only for 127.0.0.0/8, localhost or [::1] with allowInsecureLoopbackHttp: true)'],
    ['ftp://app.acme.example', 'must be an https origin, like https://app.example.com'],
    ['https://app.acme.example/', PATH],
    ['https://app.acme.example/app', PATH],
    ['https://app.acme.example?x=1', ORIGIN_ONLY('a query')],
    ['https://app.acme.example#x', ORIGIN_ONLY('a fragment')],
    ['https://user@app.acme.example', 'must not carry credentials (user:password@)'],
    ['https://App.Acme.example', 'must be written as browsers send it: "https://app.acme.example"'],
    ['https://app.acme.example:443', 'must be written as browsers send it: "https://app.acme.example"'],
    ['https://*.acme.example', 'must not contain "*" (no wildcard origins): list each allowed origin, like https://app.example.com'],
    ['http://127.0.0.1:3000', 'http is allowed only on loopback (127.0.0.0/8, localhost, [::1]) with allowInsecureLoopbackHttp: true'],
  ])('refuses %j with a message naming the field', (origin, message) => {
    expect(issuesFor(['https://ok.example', origin])).toEqual([{ path: 'partners.acme.clients.app.cors.origins.1', message }]);
  });

  it('accepts loopback http origins with allowInsecureLoopbackHttp: true only', () => {
    const local = ['http://127.0.0.1:3000', 'http://localhost:5173', 'http://[::1]:8080'];
    expect(issuesFor(local, true)).toEqual([]);
    expect(issuesFor(local, false)).toHaveLength(3);
    expect(issuesFor(['http://dev.example:3000'], true)).toHaveLength(1);
  });

  it('corsOriginProblem is the same rule on its own', () => {
    expect(corsOriginProblem('https://a.example', false)).toBeUndefined();
    expect(corsOriginProblem('https://a.example/', false)).toBe(PATH);
  });
});
