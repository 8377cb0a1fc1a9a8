/**
 * The AssumeRole input of a cached signing session is built once per (config objects, caller,
 * scope) and reused (src/usecases/session.ts): reused only while nothing it depends on changed, never
 * shared across subjects, actions or clients, rebuilt after a config reload, and frozen so no request
 * can change what a later one sends.
 */
import { describe, expect, it } from '@jest/globals';
import type { Caller } from '../../src/domain/model.js';
import { resolveGrant } from '../../src/usecases/resolveGrant.js';
import { signingSession } from '../../src/usecases/session.js';
import { scopeForObject } from '../../src/rules/scope.js';
import { encodeSubject } from '../../src/rules/subject.js';
import { YamlGrantStore } from '../../src/adapters/yamlGrantStore.js';
import { testDeps } from '../support/brokerDeps.js';
import { brokerConfig, FIXTURE_API_KEYS } from '../support/configFixture.js';

const caller = (subject: string): Caller => ({ partnerId: 'acme', clientId: 'backend', method: 'api-key', subject, subjectSegment: encodeSubject(subject) });

describe('signing-session request memo', () => {
  it('reuses the request for the same caller and scope, never across subjects or actions, and rebuilds after a reload', async () => {
    const config = brokerConfig();
    const { deps, issuer } = testDeps(config);
    const sign = async (who: Caller, action: 'read' | 'write', expiresIn = 300) => {
      const grant = await resolveGrant(deps.store, who);
      return signingSession(deps, who, grant, scopeForObject(grant, { action, relativeKey: 'a.txt' }), expiresIn);
    };
    const key = FIXTURE_API_KEYS.acmeBackend.id;
    await sign(caller(key), 'write');
    await sign(caller(key), 'write');
    expect(issuer.requests).toHaveLength(1); // cached session: one AssumeRole
    await sign(caller(key), 'read');
    await sign(caller('other-subject'), 'write');
    expect(issuer.requests).toHaveLength(3);
    const [write, read, other] = issuer.requests;
    expect(Object.isFrozen(write)).toBe(true);
    expect(Object.isFrozen(write!.tags)).toBe(true);
    expect(read!.policy).not.toBe(write!.policy);
    expect(other!.sourceIdentity).not.toBe(write!.sourceIdentity);
    expect(other!.roleSessionName).toContain('other-subject');

    // The session cache is emptied, the config objects stay: the very same request object is sent again.
    const again = testDeps(config);
    const store = again.deps.store;
    const firstGrant = await resolveGrant(store, caller(key));
    await signingSession(again.deps, caller(key), firstGrant, scopeForObject(firstGrant, { action: 'write', relativeKey: 'a.txt' }), 300);
    // A reload: new config objects with a different role; the memo must not answer with the old request.
    const reloaded = brokerConfig();
    for (const partner of Object.values(reloaded.partners)) partner.roleArn = partner.roleArn.replace(/role\/.*/, 'role/Reloaded');
    const fresh = testDeps(reloaded);
    const grant = await resolveGrant(new YamlGrantStore(reloaded), caller(key));
    await signingSession({ ...fresh.deps, settings: again.deps.settings }, caller(key), grant, scopeForObject(grant, { action: 'write', relativeKey: 'a.txt' }), 300);
    expect(fresh.issuer.requests[0]!.roleArn).toMatch(/role\/Reloaded$/);
    expect(again.issuer.requests[0]!.roleArn).not.toMatch(/Reloaded/);
    expect(again.issuer.requests[0]!.policy).toBe(write!.policy);
  });
});
