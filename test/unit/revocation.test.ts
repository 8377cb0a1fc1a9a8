import { describe, expect, it } from '@jest/globals';
import { AccessRevokedError, UnauthenticatedError } from '../../src/domain/errors.js';
import type { AssumeRoleRequest, Caller, Partner, Revocation, TemporaryCredentials } from '../../src/domain/model.js';
import { partnersOf } from '../../src/config/load.js';
import { revocationSchema } from '../../src/config/schema.js';
import {
  matchingRevocations, maxSessionSeconds, PRUNE_MARGIN_SECONDS, pruneRevocations, refusalReason, revocationPolicy,
  ROLE_INLINE_POLICY_CHARS, sessionNotBefore,
} from '../../src/rules/revocation.js';
import { SessionCache } from '../../src/rules/sessionCache.js';
import { sessionIdentity } from '../../src/rules/sessionIdentity.js';
import { encodeSubject } from '../../src/rules/subject.js';
import { resolveGrant } from '../../src/usecases/resolveGrant.js';
import { uploadsRoute } from '../../src/routes/uploads.js';
import { YamlGrantStore } from '../../src/adapters/yamlGrantStore.js';
import { apiEvent } from '../support/apiEvent.js';
import { brokerConfig, FIXTURE_API_KEYS } from '../support/configFixture.js';
import { testDeps } from '../support/brokerDeps.js';
import { invokeRoute } from '../support/invokeRoute.js';

const T0 = Date.parse('2026-11-30T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

function caller(over: Partial<Caller> = {}): Caller {
  const subject = over.subject ?? 'alice';
  return { partnerId: 'acme', clientId: 'app', method: 'jwt', subject, subjectSegment: encodeSubject(subject), ...over };
}

function acme(): Partner {
  return partnersOf(brokerConfig()).get('acme')!;
}

function rev(target: Revocation['target'], atMs: number, active = true): Revocation {
  return { target, at: iso(atMs), active };
}

describe('revocationMatches / matchingRevocations', () => {
  const partner = acme();
  partner.revocations = [
    rev({ kind: 'partner' }, T0),
    rev({ kind: 'client', clientId: 'backend' }, T0 + 1),
    rev({ kind: 'key', clientId: 'backend', keyId: 'acmek1' }, T0 + 2),
    rev({ kind: 'subject', clientId: 'app', subject: 'alice' }, T0 + 3),
  ];
  const kinds = (c: Caller) => matchingRevocations(partner, c).map((r) => r.target.kind);

  it('a partner revocation matches every caller; the others only their client, key or subject', () => {
    expect(kinds(caller())).toEqual(['partner', 'subject']);
    expect(kinds(caller({ subject: 'bob' }))).toEqual(['partner']);
    expect(kinds(caller({ clientId: 'backend', method: 'api-key', subject: 'acmek1' }))).toEqual(['partner', 'client', 'key']);
    expect(kinds(caller({ clientId: 'backend', method: 'api-key', subject: 'otherkey' }))).toEqual(['partner', 'client']);
  });

  it('a key revocation never matches a JWT caller whose subject happens to equal the key id', () => {
    const p = acme();
    p.revocations = [rev({ kind: 'key', clientId: 'app', keyId: 'alice' }, T0)];
    expect(matchingRevocations(p, caller())).toEqual([]);
  });

  it('a subject revocation is exact: no prefix, case or encoding match', () => {
    const p = acme();
    p.revocations = [rev({ kind: 'subject', clientId: 'app', subject: 'alice' }, T0)];
    for (const subject of ['Alice', 'alice ', 'alic', 'alice2']) expect(matchingRevocations(p, caller({ subject }))).toEqual([]);
  });
});

describe('refusalReason', () => {
  it('refuses a disabled partner, a disabled client and an active matching revocation; a lifted one is not a refusal', () => {
    const p = acme();
    expect(refusalReason(p, caller())).toBeUndefined();
    p.disabled = true;
    expect(refusalReason(p, caller())).toMatch(/partner is disabled/);
    p.disabled = false;
    p.clients.app!.disabled = true;
    expect(refusalReason(p, caller())).toMatch(/client is disabled/);
    expect(refusalReason(p, caller({ clientId: 'backend', method: 'api-key', subject: 'acmek1' }))).toBeUndefined();
    p.clients.app!.disabled = false;
    p.revocations = [rev({ kind: 'subject', clientId: 'app', subject: 'alice' }, T0)];
    expect(refusalReason(p, caller())).toMatch(/revoked \(subject\)/);
    p.revocations[0]!.active = false;
    expect(refusalReason(p, caller())).toBeUndefined();
  });

  it('a client named like an Object.prototype member is not "disabled" through the prototype', () => {
    expect(refusalReason(acme(), caller({ clientId: 'constructor' }))).toBeUndefined();
  });
});

describe('sessionNotBefore', () => {
  it('is the latest matching instant, lifted revocations included; undefined when none matches', () => {
    const p = acme();
    expect(sessionNotBefore(p, caller(), T0)).toBeUndefined();
    p.revocations = [
      rev({ kind: 'subject', clientId: 'app', subject: 'alice' }, T0 + 5000, false),
      rev({ kind: 'client', clientId: 'app' }, T0 + 1000, false),
      rev({ kind: 'subject', clientId: 'app', subject: 'bob' }, T0 + 9000),
    ];
    expect(sessionNotBefore(p, caller(), T0)).toBe(T0 + 5000);
    expect(sessionNotBefore(p, caller({ subject: 'carol' }), T0)).toBe(T0 + 1000);
  });

  it('an unparseable instant counts as now (fail closed)', () => {
    const p = acme();
    p.revocations = [{ target: { kind: 'partner' }, at: 'not a date', active: false }];
    expect(sessionNotBefore(p, caller(), T0 + 42)).toBe(T0 + 42);
  });
});

describe('pruneRevocations', () => {
  it('keeps active entries forever and lifted ones for the longest session + margin (role chaining caps it at 1 h)', () => {
    const p: Pick<Partner, 'revocations' | 'maxDurationSeconds'> = {
      maxDurationSeconds: 3600,
      revocations: [
        rev({ kind: 'partner' }, T0 - 10 * 86_400_000, true),
        rev({ kind: 'client', clientId: 'app' }, T0, false),
      ],
    };
    expect(maxSessionSeconds({ maxDurationSeconds: 43_200 })).toBe(3600);
    const keep = (3600 + PRUNE_MARGIN_SECONDS) * 1000;
    expect(pruneRevocations(p, T0 + keep - 1)).toHaveLength(2);
    expect(pruneRevocations(p, T0 + keep).map((r) => r.target.kind)).toEqual(['partner']);
  });

  it('a shorter partner session prunes sooner', () => {
    const p = { maxDurationSeconds: 900, revocations: [rev({ kind: 'partner' }, T0, false)] };
    expect(pruneRevocations(p, T0 + (900 + PRUNE_MARGIN_SECONDS) * 1000 - 1)).toHaveLength(1);
    expect(pruneRevocations(p, T0 + (900 + PRUNE_MARGIN_SECONDS) * 1000)).toHaveLength(0);
  });
});

describe('revocationPolicy', () => {
  it('denies s3:* on the bucket for the matched sessions issued before the instant, keyed on SourceIdentity or session tags', () => {
    const p = acme();
    p.revocations = [
      rev({ kind: 'subject', clientId: 'app', subject: 'alice' }, T0),
      rev({ kind: 'client', clientId: 'backend' }, T0 + 1000),
      rev({ kind: 'partner' }, T0 + 2000),
      rev({ kind: 'key', clientId: 'backend', keyId: 'acmek1' }, T0 + 3000),
    ];
    const { document, covered, leftOut } = revocationPolicy('acme', p, T0);
    expect(covered).toHaveLength(4);
    expect(leftOut).toEqual([]);
    const statements = (document as { Statement: Array<Record<string, any>> }).Statement;
    expect(statements.every((s) => s.Effect === 'Deny' && s.Action === 's3:*')).toBe(true);
    expect(statements[0]!.Resource).toEqual(['arn:aws:s3:::partner-bucket', 'arn:aws:s3:::partner-bucket/*']);
    const alice = sessionIdentity(caller()).sourceIdentity;
    expect(statements[0]!.Condition).toEqual({ StringEquals: { 'aws:SourceIdentity': alice }, DateLessThan: { 'aws:TokenIssueTime': '2026-11-30T12:00:00Z' } });
    expect(statements[1]!.Condition.StringEquals).toEqual({ 'aws:PrincipalTag/partner': 'acme', 'aws:PrincipalTag/client': 'backend' });
    expect(statements[2]!.Condition.StringEquals).toEqual({ 'aws:PrincipalTag/partner': 'acme' });
    const keyIdentity = sessionIdentity(caller({ clientId: 'backend', method: 'api-key', subject: 'acmek1' })).sourceIdentity;
    expect(statements[3]!.Condition.StringEquals).toEqual({ 'aws:SourceIdentity': keyIdentity });
    expect(statements[3]!.Condition.DateLessThan['aws:TokenIssueTime']).toBe('2026-11-30T12:00:03Z');
  });

  it('a long subject uses the exact fitted SourceIdentity the broker sets (digest included)', () => {
    const p = acme();
    const subject = `user-${'x'.repeat(200)}@example.com`;
    p.revocations = [rev({ kind: 'subject', clientId: 'app', subject }, T0)];
    const identity = sessionIdentity(caller({ subject })).sourceIdentity;
    expect(identity.length).toBeLessThanOrEqual(64);
    const s = (revocationPolicy('acme', p, T0).document as any).Statement[0];
    expect(s.Condition.StringEquals['aws:SourceIdentity']).toBe(identity);
  });

  it('no revocation kept → no document (the inline policy is deleted)', () => {
    expect(revocationPolicy('acme', acme(), T0)).toEqual({ document: undefined, chars: 0, covered: [], leftOut: [] });
  });

  it('stays within the role inline budget and lists what does not fit; counts how many fit', () => {
    const p = acme();
    // Longest statements: subjects whose SourceIdentity is the full 64 characters.
    p.revocations = Array.from({ length: 200 }, (_, i) => rev({ kind: 'subject', clientId: 'app', subject: `${'s'.repeat(70)}${i}` }, T0 + i * 1000));
    const reserved = 1500;
    const policy = revocationPolicy('acme', p, T0, { reservedChars: reserved });
    expect(policy.chars).toBeLessThanOrEqual(ROLE_INLINE_POLICY_CHARS - reserved);
    expect(policy.covered.length + policy.leftOut.length).toBe(200);
    expect(policy.leftOut.length).toBeGreaterThan(0);
    // The README operators' section says "about 30 worst-case entries"; 1,500 reserved chars is a large permission policy.
    expect(policy.covered.length).toBeGreaterThanOrEqual(25);
    expect(policy.covered.length).toBeLessThanOrEqual(31);
    expect(policy.covered).toEqual(p.revocations.slice(0, policy.covered.length));
  });

  it('every generated revocation validates against the schema the stores use', () => {
    for (const r of [rev({ kind: 'partner' }, T0), rev({ kind: 'subject', clientId: 'app', subject: 'a' }, T0)]) {
      expect(revocationSchema.safeParse(r).success).toBe(true);
    }
  });
});

describe('resolveGrant refuses revoked callers with 403 access_revoked', () => {
  it('disabled partner, disabled client, active revocation → AccessRevokedError; unknown client stays 401', async () => {
    const config = brokerConfig();
    const store = new YamlGrantStore(config);
    const partner = (await store.partner('acme'))!;
    await expect(resolveGrant(store, caller())).resolves.toMatchObject({ clientId: 'app' });
    partner.revocations = [rev({ kind: 'subject', clientId: 'app', subject: 'alice' }, T0)];
    const err = await resolveGrant(store, caller()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AccessRevokedError);
    expect(err).toMatchObject({ status: 403, code: 'access_revoked' });
    await expect(resolveGrant(store, caller({ subject: 'bob' }))).resolves.toBeDefined();
    partner.revocations = [];
    partner.clients.app!.disabled = true;
    await expect(resolveGrant(store, caller())).rejects.toBeInstanceOf(AccessRevokedError);
    partner.clients.app!.disabled = undefined;
    partner.disabled = true;
    await expect(resolveGrant(store, caller({ clientId: 'backend', method: 'api-key', subject: 'acmek1' }))).rejects.toBeInstanceOf(AccessRevokedError);
    await expect(resolveGrant(store, caller({ clientId: 'nope' }))).rejects.toBeInstanceOf(UnauthenticatedError);
  });
});

describe('SessionCache notBefore', () => {
  function harness() {
    let now = T0;
    const calls: AssumeRoleRequest[] = [];
    const issuer = {
      assumeRole: async (request: AssumeRoleRequest): Promise<TemporaryCredentials> => {
        calls.push(request);
        return { accessKeyId: `ASIA${calls.length}`, secretAccessKey: 's', sessionToken: 't', expiration: new Date(now + 3600_000) };
      },
    };
    const cache = new SessionCache(issuer, { maxEntries: 10, clock: () => now });
    return { cache, calls, advance: (ms: number) => { now += ms; }, now: () => now };
  }
  const request = { partnerId: 'acme', roleArn: 'arn:aws:iam::111111111111:role/Role-A', roleSessionName: 'n', sourceIdentity: 'n', policy: '{}', durationSeconds: 3600, tags: [], region: 'eu-west-1' };

  it('a session requested before notBefore is dropped and a new one assumed; one requested at or after it is reused', async () => {
    const h = harness();
    const first = await h.cache.getSession('k', request, 60);
    h.advance(1000);
    await expect(h.cache.getSession('k', request, 60, { notBefore: T0 })).resolves.toBe(first);
    const second = await h.cache.getSession('k', request, 60, { notBefore: T0 + 500 });
    expect(second).not.toBe(first);
    expect(h.calls).toHaveLength(2);
    await expect(h.cache.getSession('k', request, 60, { notBefore: T0 + 500 })).resolves.toBe(second);
    // Dropped for good: without notBefore the old one does not come back either.
    await expect(h.cache.getSession('k', request, 60)).resolves.toBe(second);
    expect(h.calls).toHaveLength(2);
  });

  it('an AssumeRole in flight since before notBefore is not joined', async () => {
    const h = harness();
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const original = h.cache['issuer'].assumeRole;
    let gated = true;
    h.cache['issuer'].assumeRole = async (r: AssumeRoleRequest) => {
      if (gated) { gated = false; await gate; }
      return original(r);
    };
    const early = h.cache.getSession('k', request, 60);
    h.advance(1000);
    const late = h.cache.getSession('k', request, 60, { notBefore: T0 + 500 });
    release();
    const [a, b] = await Promise.all([early, late]);
    expect(a).not.toBe(b);
    expect(h.calls).toHaveLength(2);
    // The later session wins the cache slot, whichever answer came last.
    await expect(h.cache.getSession('k', request, 60, { notBefore: T0 + 500 })).resolves.toBe(b);
  });
});

describe('revoke then re-enable a subject: the next presign assumes a new session (injected clock, STS call count)', () => {
  it('same session before the revocation, refused while it is active, a NEW AssumeRole after it is lifted', async () => {
    let now = T0;
    const config = brokerConfig();
    const { deps, issuer } = testDeps(config, { now: () => now });
    const upload = (n: number) => invokeRoute(uploadsRoute, deps, apiEvent({
      method: 'POST', path: '/v1/uploads', headers: { authorization: `Bearer ${FIXTURE_API_KEYS.acmeBackend.key}` },
      body: { method: 'PUT', key: `f-${n}.pdf`, contentType: 'application/pdf', contentLength: 10, expiresIn: 300 },
    }));
    const signer = (url: string) => new URL(url).searchParams.get('X-Amz-Credential')!.split('/')[0];

    const a = await upload(1);
    const b = await upload(2);
    expect(a.res.statusCode).toBe(200);
    expect(signer(b.body.url)).toBe(signer(a.body.url));
    expect(issuer.requests).toHaveLength(1);

    now += 10_000;
    const partner = config.partners.acme!;
    partner.revocations = [{ target: { kind: 'key', clientId: 'backend', keyId: FIXTURE_API_KEYS.acmeBackend.id }, at: iso(now), active: true }];
    const refused = await upload(3);
    expect(refused.res.statusCode).toBe(403);
    expect(refused.body.error?.code ?? refused.body.code).toBe('access_revoked');
    expect(issuer.requests).toHaveLength(1);

    now += 10_000;
    partner.revocations[0]!.active = false;
    const c = await upload(4);
    const d = await upload(5);
    expect(c.res.statusCode).toBe(200);
    expect(issuer.requests).toHaveLength(2);
    expect(signer(c.body.url)).not.toBe(signer(a.body.url));
    expect(signer(d.body.url)).toBe(signer(c.body.url));
  });
});
