/**
 * The Role-A Deny of rules/revocation.ts, proved against the IAM simulator: the role carries the
 * broker's permission policy (rules/partnerSetup.ts) plus the generated Deny, and each request is
 * made by a broker session with exactly what the broker gives it (rules/sessionIdentity.ts:
 * SourceIdentity and the partner/client/subject session tags) and an issue time. For any subjects,
 * clients and instants:
 * - the revoked session (issued before the instant) is denied GetObject and PutObject;
 * - the same caller's session issued at or after the instant is allowed;
 * - other subjects' and other clients' sessions are allowed, whenever they were issued.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { Caller, Partner, Revocation } from '../../src/domain/model.js';
import { partnersOf } from '../../src/config/load.js';
import { partnerSetup } from '../../src/rules/partnerSetup.js';
import { revocationPolicy } from '../../src/rules/revocation.js';
import { sessionIdentity } from '../../src/rules/sessionIdentity.js';
import { encodeSubject } from '../../src/rules/subject.js';
import { brokerConfig } from '../support/configFixture.js';

const RUNS = 60;
const ACCOUNT = '111111111111';
const BROKER_ROLE = 'arn:aws:iam::999999999999:role/sts-broker-test-lambdaRole';

/** acme with two JWT clients on one issuer (different audiences) and its API-key back end. */
const CONFIG = brokerConfig({
  partners: {
    acme: {
      clients: {
        web: {
          jwt: { issuer: 'https://issuer.example', audience: 'acme-web', algorithms: ['ES256'] },
          prefix: 'acme/web/${sub}/',
          actions: ['read', 'write'],
          maxUploadBytes: 1024,
          contentTypes: ['image/jpeg'],
        },
      },
    },
  },
});
const ACME: Partner = partnersOf(CONFIG).get('acme')!;
const PERMISSIONS = partnerSetup('acme', ACME, BROKER_ROLE).rolePermissionPolicy;

type Outcome = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied';

function callerOf(clientId: string, subject: string): Caller {
  const method = ACME.clients[clientId]!.apiKeys ? 'api-key' : 'jwt';
  return { partnerId: 'acme', clientId, method, subject, subjectSegment: encodeSubject(subject) };
}

/** One S3 request by a broker session of `caller` issued at `issuedAt`, under the role's policies. */
async function request(caller: Caller, issuedAt: number, action: 's3:GetObject' | 's3:PutObject', deny: object | undefined): Promise<Outcome> {
  const identity = sessionIdentity(caller);
  const grantPrefix = ACME.clients[caller.clientId]!.prefix.replaceAll('${sub}', caller.subjectSegment);
  const context: Record<string, string> = {
    'aws:SourceIdentity': identity.sourceIdentity,
    'aws:TokenIssueTime': new Date(issuedAt).toISOString(),
    ...Object.fromEntries(identity.tags.map((t) => [`aws:PrincipalTag/${t.key}`, t.value])),
  };
  const result = await runSimulation({
    request: {
      principal: `arn:aws:sts::${ACCOUNT}:assumed-role/Role-A/${identity.roleSessionName}`,
      action,
      resource: { resource: `arn:aws:s3:::${ACME.bucket}/${grantPrefix}file.jpg`, accountId: ACCOUNT },
      contextVariables: context,
    },
    identityPolicies: [
      { name: 'sts-broker', policy: PERMISSIONS },
      ...(deny === undefined ? [] : [{ name: 'sts-broker-revocations', policy: deny }]),
    ],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  }, {});
  // An invalid simulation must fail the test loudly, never read as "denied".
  if (result.resultType === 'error') throw new Error(`simulation failed: ${JSON.stringify(result.errors)}`);
  return result.overallResult as Outcome;
}

const T0 = Date.parse('2026-11-30T12:00:00Z');
const subjectArb = fc.oneof(
  fc.constantFrom('alice', 'bob', 'carol@example.com', 'x'.repeat(90)),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 }),
);
const clientArb = fc.constantFrom('backend', 'app', 'web');
/** Seconds from T0 and seconds before/after the instant a session was issued. */
const instantArb = fc.integer({ min: 0, max: 30 * 86_400 });
const offsetArb = fc.integer({ min: 1, max: 3600 });

describe('the Role-A Deny (simulator)', () => {
  it('without any Deny every broker session of the grant is allowed (the property is not vacuous)', async () => {
    for (const clientId of ['backend', 'app', 'web']) {
      expect(await request(callerOf(clientId, 'alice'), T0, 's3:GetObject', undefined)).toBe('Allowed');
    }
  });

  it('a subject or key revocation denies exactly that caller\'s sessions issued before the instant', async () => {
    await fc.assert(fc.asyncProperty(clientArb, subjectArb, subjectArb, instantArb, offsetArb, async (clientId, subject, other, atSec, offset) => {
      fc.pre(other !== subject && encodeSubject(other) !== encodeSubject(subject));
      const at = T0 + atSec * 1000;
      const revoked = callerOf(clientId, subject);
      const target: Revocation['target'] = revoked.method === 'api-key'
        ? { kind: 'key', clientId, keyId: subject }
        : { kind: 'subject', clientId, subject };
      const { document } = revocationPolicy('acme', { ...ACME, revocations: [{ target, at: new Date(at).toISOString(), active: true }] }, at);
      for (const action of ['s3:GetObject', 's3:PutObject'] as const) {
        expect(await request(revoked, at - offset * 1000, action, document)).toBe('ExplicitlyDenied');
      }
      expect(await request(revoked, at + offset * 1000, 's3:GetObject', document)).toBe('Allowed');
      expect(await request(revoked, at, 's3:GetObject', document)).toBe('Allowed');
      expect(await request(callerOf(clientId, other), at - offset * 1000, 's3:GetObject', document)).toBe('Allowed');
      const otherClient = clientId === 'web' ? 'app' : 'web';
      expect(await request(callerOf(otherClient, subject), at - offset * 1000, 's3:PutObject', document)).toBe('Allowed');
    }), { numRuns: RUNS });
  }, 120_000);

  it('a client revocation denies every session of that client issued before the instant, and no other client\'s', async () => {
    await fc.assert(fc.asyncProperty(clientArb, subjectArb, instantArb, offsetArb, async (clientId, subject, atSec, offset) => {
      const at = T0 + atSec * 1000;
      const { document } = revocationPolicy('acme', { ...ACME, revocations: [{ target: { kind: 'client', clientId }, at: new Date(at).toISOString(), active: false }] }, at);
      expect(await request(callerOf(clientId, subject), at - offset * 1000, 's3:PutObject', document)).toBe('ExplicitlyDenied');
      expect(await request(callerOf(clientId, subject), at + offset * 1000, 's3:PutObject', document)).toBe('Allowed');
      for (const other of ['backend', 'app', 'web'].filter((c) => c !== clientId)) {
        expect(await request(callerOf(other, subject), at - offset * 1000, 's3:GetObject', document)).toBe('Allowed');
      }
    }), { numRuns: RUNS });
  }, 120_000);

  it('a partner revocation denies every broker session issued before the instant, none after', async () => {
    await fc.assert(fc.asyncProperty(clientArb, subjectArb, instantArb, offsetArb, async (clientId, subject, atSec, offset) => {
      const at = T0 + atSec * 1000;
      const { document } = revocationPolicy('acme', { ...ACME, revocations: [{ target: { kind: 'partner' }, at: new Date(at).toISOString(), active: true }] }, at);
      expect(await request(callerOf(clientId, subject), at - offset * 1000, 's3:GetObject', document)).toBe('ExplicitlyDenied');
      expect(await request(callerOf(clientId, subject), at + offset * 1000, 's3:GetObject', document)).toBe('Allowed');
    }), { numRuns: RUNS });
  }, 120_000);
});
