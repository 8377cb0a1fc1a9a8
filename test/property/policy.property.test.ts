/**
 * Security invariants 1 and 2, proved against the IAM simulator: for any request (hostile keys and
 * prefixes, any JWT subject in a `${sub}` template) the broker either refuses with a 400/403 that
 * names a rule the input really breaks, or builds a session policy that is valid, fits STS's 2048
 * characters, allows the requested object and denies every probe outside the grant: sibling and
 * parent prefixes, other subjects' folders, other buckets and partitions, other actions, and
 * ListBucket with other `s3:prefix` values. The Polaris CVE-2026-42810 class (an IAM wildcard in a
 * name reaching other prefixes) is among the generated cases and has its own examples.
 *
 * Driven through the real pure pipeline (resolveGrant → scopeFor… → buildSessionPolicy) and,
 * fewer times, through the real HTTP handler with the policy taken from the AssumeRole request.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { MAX_SESSION_POLICY_CHARS } from '../../src/rules/limits.js';
import { BrokerError } from '../../src/domain/errors.js';
import { ACTIONS, type Action } from '../../src/domain/actions.js';
import { YamlGrantStore } from '../../src/adapters/yamlGrantStore.js';
import { resolveGrant } from '../../src/usecases/resolveGrant.js';
import { scopeForCredentials, scopeForObject, sessionScopeFor } from '../../src/rules/scope.js';
import { encodeSubject } from '../../src/rules/subject.js';
import type { Route } from '../../src/http/route.js';
import { buildSessionPolicy } from '../../src/rules/sessionPolicy.js';
import { sessionContract } from '../../src/rules/uploadContract.js';
import type { Caller, Grant, Scope } from '../../src/domain/model.js';
import { credentialsRoute } from '../../src/routes/credentials.js';
import { downloadsRoute } from '../../src/routes/downloads.js';
import { uploadsRoute } from '../../src/routes/uploads.js';
import { apiEvent } from '../support/apiEvent.js';
import { testDeps } from '../support/brokerDeps.js';
import { brokerConfig, FIXTURE_API_KEYS, FIXTURE_ISSUER } from '../support/configFixture.js';
import { simulate, validatePolicy } from '../support/iamSim.js';
import { invokeRoute } from '../support/invokeRoute.js';

const PURE_RUNS = 2000;
const HANDLER_RUNS = 250;
const SUBJECT_PAIR_RUNS = 1000;

/** The fixture (acme: API-key `backend` on acme/ with raw write credentials, JWT `app` on acme/users/${sub}/; globex) plus an aws-cn partner. */
const CONFIG = brokerConfig({
  partners: {
    // acme's back end opts in to raw write credentials, the other clients do not: both rules are exercised
    acme: { clients: { backend: { rawWriteCredentials: true } } },
    cnco: {
      roleArn: 'arn:aws-cn:iam::333333333333:role/Role-C',
      bucket: 'cn-bucket',
      region: 'cn-north-1',
      clients: {
        mobile: {
          jwt: { issuer: FIXTURE_ISSUER, audience: 'cn-app', algorithms: ['ES256'] },
          prefix: 'tenants/${sub}/files/',
          actions: ['read', 'list', 'delete'],
          maxUploadBytes: 1024,
          contentTypes: ['image/png'],
        },
      },
    },
  },
});
const STORE = new YamlGrantStore(CONFIG);

interface ClientRef {
  partnerId: string;
  clientId: string;
  method: 'api-key' | 'jwt';
  /** API-key clients: the key id (their subject); JWT clients take the generated `sub`. */
  keyId?: string;
  apiKey?: string;
  contentType: string;
}

const CLIENTS: readonly ClientRef[] = [
  { partnerId: 'acme', clientId: 'backend', method: 'api-key', keyId: FIXTURE_API_KEYS.acmeBackend.id, apiKey: FIXTURE_API_KEYS.acmeBackend.key, contentType: 'application/pdf' },
  { partnerId: 'acme', clientId: 'app', method: 'jwt', contentType: 'image/jpeg' },
  { partnerId: 'globex', clientId: 'backend', method: 'api-key', keyId: FIXTURE_API_KEYS.globexBackend.id, apiKey: FIXTURE_API_KEYS.globexBackend.key, contentType: 'text/csv' },
  { partnerId: 'cnco', clientId: 'mobile', method: 'jwt', contentType: 'image/png' },
];

function callerFor(client: ClientRef, sub: string): Caller {
  const subject = client.keyId ?? sub;
  return { partnerId: client.partnerId, clientId: client.clientId, method: client.method, subject, subjectSegment: encodeSubject(subject) };
}

// ---- generators ----------------------------------------------------------------------------

/** Mostly harmless units, with NFC traps (combining marks, Å vs U+212B) and characters JSON escapes or IAM treats specially. */
const plainUnit = fc.constantFrom('a', 'b', 'z', '0', '-', '_', '.', '/', 'é', 'e\u0301', '\u0301', 'Å', '\u212b', '😀', '日', ' ', '"', '+', '=', '@', ',', ':', '(', '%', '~', '#', '&', '\ufeff', '\u202e');
/** Pieces every rule must catch wherever they land, and the CVE-2026-42810 class. */
const hostilePiece = fc.constantFrom(
  '*', '?', '$', '${', '}', '${sub}', '${*}', '${?}', '${$}', '${aws:username}', '..', '.', '//', '/', '\\', '../', './',
  '\u0000', '\n', '\r', '\t', '\u001f', '\u007f', '\u0085', '\u009f', '\ud800', '\udc00', 'acme2', 'globex', '%2e%2e',
);
const text = fc.array(
  fc.oneof(
    { weight: 6, arbitrary: fc.string({ unit: plainUnit, minLength: 1, maxLength: 12 }) },
    { weight: 2, arbitrary: hostilePiece },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 4 }) },
  ),
  { minLength: 1, maxLength: 6 },
).map((parts) => parts.join(''));

/** Long but rule-abiding paths (multi-byte and JSON-escaped units too): they reach the 1024-byte and 2048-character limits. */
const longText = fc.record({
  unit: fc.constantFrom('a', 'a', '"', 'é', '😀', '日', '+'),
  length: fc.integer({ min: 150, max: 1100 }),
  segment: fc.integer({ min: 2, max: 400 }),
}).map(({ unit, length, segment }) => Array.from({ length }, (_, i) => (i > 0 && i % segment === 0 ? '/' : unit)).join(''));

const relativeKey = fc.oneof(
  { weight: 5, arbitrary: text },
  { weight: 1, arbitrary: text.map((t) => `/${t}`) },
  { weight: 2, arbitrary: longText },
  { weight: 1, arbitrary: fc.constantFrom('*', '?', '$', '${*}', '..', '../acme2/x', 'a//b', 'cafe\u0301.jpg', 'café.jpg', '', ' ', 'a/') },
);
const narrowingPrefix = fc.oneof(
  { weight: 4, arbitrary: text.map((t) => (t.endsWith('/') ? t : `${t}/`)) },
  { weight: 1, arbitrary: text },
  { weight: 2, arbitrary: longText.map((t) => (t.endsWith('/') ? t : `${t}/`)) },
  { weight: 1, arbitrary: fc.constantFrom('*/', '../', '../globex/', '../../', '${sub}/', '?/', '$/', '/', 'a//', './', 'reports/') },
);

/** JWT subjects: the named traps, arbitrary text (lone surrogates included), and safe segments near the 64-char limit. */
const subject = fc.oneof(
  fc.constantFrom('alice', 'alice/x', 'x/alice', '..', '.', '', '/', '*', '?', '$', '${sub}', '${*}', 'h-abc', 'é', 'e\u0301',
    'acme2', '../globex', 'alice/../bob', '\u0000', '\ud800', 'a'.repeat(64), 'a'.repeat(65), 'ALICE'),
  fc.string({ unit: plainUnit, maxLength: 10 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.stringMatching(/^[A-Za-z0-9._-]{1,70}$/),
);
/** Two different subjects, with the pairs most likely to share a folder by mistake. */
const subjectPair = fc.oneof(
  fc.tuple(subject, subject),
  fc.constantFrom<[string, string]>(
    ['alice', 'alice/x'], ['alice/x', 'alice'], ['é', 'e\u0301'], ['e\u0301', 'é'], ['.', '..'], ['alice', 'ALICE'],
    ['*', 'alice'], ['alice', '*'], ['', 'alice'], ['h-abc', 'abc'], ['\ud800', '\ufffd'], ['a'.repeat(64), 'a'.repeat(65)],
  ),
).filter(([a, b]) => a !== b);

type PolicyRequest =
  | { kind: 'credentials'; actions: Action[] | undefined; prefix: string | undefined }
  | { kind: 'object'; action: 'read' | 'write'; key: string };

const request: fc.Arbitrary<PolicyRequest> = fc.oneof(
  fc.record({
    kind: fc.constant('credentials' as const),
    actions: fc.option(fc.subarray([...ACTIONS]), { nil: undefined, freq: 2 }),
    prefix: fc.option(narrowingPrefix, { nil: undefined, freq: 4 }),
  }),
  fc.record({ kind: fc.constant('object' as const), action: fc.constantFrom('read' as const, 'write' as const), key: relativeKey }),
);

// ---- the oracle for refusals ---------------------------------------------------------------

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Each rule message the key validators may give, with a check that the input really breaks it. */
const RULES: ReadonlyArray<[RegExp, (nfc: string, raw: string, what: 'key' | 'prefix') => boolean]> = [
  [/^(key|prefix) must be a non-empty string$/, (_n, raw) => raw === ''],
  [/^(key|prefix) must be well-formed Unicode \(no lone surrogates\)$/, (_n, raw) => /\p{Cs}/u.test(raw)],
  [/^prefix must end with "\/"$/, (n) => !n.endsWith('/')],
  [/^(key|prefix) must not start with "\/"$/, (n) => n.startsWith('/')],
  [/^(key|prefix) must not contain control characters \(C0, DEL or C1\)$/, (n) => CONTROL.test(n)],
  [/^(key|prefix) must not contain invisible format characters \(U\+2028\/U\+2029 line and paragraph separators, bidi controls, zero-width characters: Unicode category Cf\)$/, (n) => /[\p{Cf}\u2028\u2029]/u.test(n)],
  [/^(key|prefix) must not contain an empty segment/, (n, _r, what) => (what === 'prefix' ? n.slice(0, -1) : n).split('/').includes('')],
  [/^(key|prefix) must not contain "\." or "\.\." segments$/, (n, _r, what) => (what === 'prefix' ? n.slice(0, -1) : n).split('/').some((s) => s === '.' || s === '..')],
  [/^(key|prefix) must not contain "\*", "\?" or "\$" \(IAM wildcards and variables: the Polaris CVE-2026-42810 class\)$/, (n) => /[*?$]/.test(n)],
  [/^(key|prefix) must not contain a backslash$/, (n) => n.includes('\\')],
];

/** Asserts that `message` names a rule that `raw` (a key or a narrowing prefix under `grant`) really breaks. */
function expectRuleBroken(message: string, raw: string, what: 'key' | 'prefix', grant: Grant): void {
  const full = /^full (key|prefix) is (\d+) bytes of UTF-8; the limit is 1024$/.exec(message);
  if (full) {
    expect(full[1]).toBe(what);
    const bytes = Buffer.byteLength(grant.prefix + raw.normalize('NFC'), 'utf8');
    expect(Number(full[2])).toBe(bytes);
    expect(bytes).toBeGreaterThan(1024);
    return;
  }
  const rule = RULES.find(([pattern]) => pattern.test(message));
  if (!rule) throw new Error(`refusal names no known rule: ${JSON.stringify(message)}`);
  expect(message.startsWith(what)).toBe(true);
  const nfc = /\p{Cs}/u.test(raw) ? raw : raw.normalize('NFC');
  if (!rule[1](nfc, raw, what)) throw new Error(`refused ${JSON.stringify(raw)} for a rule it does not break: ${message}`);
}

/** A policy_too_large message states a size over the limit. */
function expectTooLarge(message: string): void {
  const m = /^the session policy is (\d+) characters; STS allows at most 2048/.exec(message);
  if (!m) throw new Error(`unexpected policy_too_large message: ${message}`);
  expect(Number(m[1])).toBeGreaterThan(MAX_SESSION_POLICY_CHARS);
}

// ---- the oracle for policies ---------------------------------------------------------------

/** The S3 actions each verb grants (a representative first). */
const VERB_ACTIONS: Readonly<Record<Exclude<Action, 'list'>, readonly string[]>> = {
  read: ['s3:GetObject'],
  write: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
  delete: ['s3:DeleteObject'],
};
/** Object actions no verb grants, and every verb's, to probe what is not granted. */
const OBJECT_ACTIONS = [
  ...Object.values(VERB_ACTIONS).flat(),
  's3:GetObjectAcl', 's3:PutObjectAcl', 's3:GetObjectVersion', 's3:DeleteObjectVersion', 's3:PutObjectTagging',
  's3:GetObjectTagging', 's3:RestoreObject', 's3:PutObjectRetention', 's3:BypassGovernanceRetention', 's3:GetObjectAttributes',
];
const BUCKET_ACTIONS = ['s3:PutBucketPolicy', 's3:DeleteBucket', 's3:ListBucketVersions', 's3:ListBucketMultipartUploads', 's3:PutBucketAcl'];
const PARTITIONS = ['aws', 'aws-cn', 'aws-us-gov'] as const;

/** What a policy should grant: a scope's bucket, prefix, verbs and (for a presign) one key. */
type Expected = Pick<Scope, 'partition' | 'bucket' | 'prefix' | 'actions'> & { objectKey?: string };

async function expectOutcome(policy: string, action: string, resource: string, context: Record<string, string>, allowed: boolean): Promise<void> {
  const outcome = await simulate(policy, action, resource, context);
  if ((outcome === 'Allowed') !== allowed) {
    throw new Error(`${action} on ${JSON.stringify(resource)} ${JSON.stringify(context)}: ${outcome}, expected ${allowed ? 'Allowed' : 'denied'}\npolicy: ${policy}`);
  }
}

type Probe = { action: string; resource: string; context: Record<string, string>; allowed: boolean };

/** Probes each run checks besides the always-checked ones (the simulator costs ~0.5–1 ms a call). */
const ROTATING_PROBES = 4;

/**
 * The policy is valid, fits, allows `requestedKey` for every granted verb (and listing the prefix
 * when `list` is granted), and denies probes outside the grant: always the sibling prefix, another
 * subject's folder and an ungranted action; `seed` picks ROTATING_PROBES more (parent, other bucket
 * or partition, bucket actions, other keys, other `s3:prefix` values), or every probe when `all`.
 */
async function expectPolicyExact(policy: string, expected: Expected, requestedKey: string, seed: number, otherPrefix?: string, all = false): Promise<void> {
  expect(policy.length).toBeLessThanOrEqual(MAX_SESSION_POLICY_CHARS);
  expect(validatePolicy(policy)).toEqual([]);
  const { partition, bucket, prefix: p } = expected;
  const arn = (key: string, b = bucket, part: string = partition) => `arn:${part}:s3:::${b}/${key}`;
  const bucketArn = `arn:${partition}:s3:::${bucket}`;
  expect(requestedKey.startsWith(p)).toBe(true);

  const verbs = expected.actions.filter((a): a is Exclude<Action, 'list'> => a !== 'list');
  const granted = new Set(verbs.flatMap((v) => VERB_ACTIONS[v]));
  const canList = expected.actions.includes('list') && expected.objectKey === undefined;
  const probe = VERB_ACTIONS[verbs[0] ?? 'read'][0]!;
  const object = (resource: string, allowed = false, action = probe): Probe => ({ action, resource, context: {}, allowed });
  const list = (s3prefix: string | undefined, allowed = false): Probe =>
    ({ action: 's3:ListBucket', resource: bucketArn, context: s3prefix === undefined ? {} : { 's3:prefix': s3prefix }, allowed });
  const bare = p.slice(0, -1);
  const parent = bare.includes('/') ? bare.slice(0, bare.lastIndexOf('/') + 1) : '';
  const otherBucket = bucket === 'globex-bucket' ? 'partner-bucket' : 'globex-bucket';
  const otherPartition = PARTITIONS[(PARTITIONS.indexOf(partition) + 1 + (seed % 2)) % PARTITIONS.length]!;
  const ungranted = OBJECT_ACTIONS.filter((a) => !granted.has(a));

  const always: Probe[] = [
    ...verbs.map((verb) => object(arn(requestedKey), true, VERB_ACTIONS[verb][0]!)),
    ...(canList ? [list(p, true)] : [list(p)]),
    object(arn(`${bare}2/x`)), // sibling: acme/ must not reach acme2/ (the missing-"/" and wildcard bugs)
    // another folder beside this one: what a `*` segment would reach
    ...(`${parent}zz-cousin/`.startsWith(p) ? [] : [object(arn(`${parent}zz-cousin/x`))]),
    ...(canList ? [list(`${bare}2/`)] : []),
    object(arn(requestedKey), false, ungranted[seed % ungranted.length]!),
    ...(otherPrefix === undefined ? [] : [object(arn(`${otherPrefix}x`)), ...(canList ? [list(otherPrefix)] : [])]),
  ];
  const rotating: Probe[] = [
    object(arn(`${parent}x`)),
    object(arn(bare)), // the folder's name as an object key
    object(arn(requestedKey, otherBucket)),
    object(arn(requestedKey, bucket, otherPartition)),
    { action: BUCKET_ACTIONS[seed % BUCKET_ACTIONS.length]!, resource: bucketArn, context: {}, allowed: false },
    object(arn(requestedKey), false, ungranted[(seed >>> 5) % ungranted.length]!),
    list(undefined),
    ...(canList ? [list(`${p}sub/`, true), list(parent), list(bare)] : []),
    ...(expected.objectKey === undefined ? [] : [
      object(arn(`${expected.objectKey}x`)),
      object(arn(`${expected.objectKey}/x`)),
      ...(expected.objectKey === `${p}other` ? [] : [object(arn(`${p}other`))]),
    ]),
  ];
  const picked = all ? rotating : [...new Set(Array.from({ length: ROTATING_PROBES }, (_, i) => rotating[(seed + i * 7919) % rotating.length]!))];
  for (const { action, resource, context, allowed } of [...always, ...picked]) await expectOutcome(policy, action, resource, context, allowed);
}

// ---- the pure pipeline ---------------------------------------------------------------------

interface Tally { policies: number; refused: Record<string, number> }
const newTally = (): Tally => ({ policies: 0, refused: {} });

/** Runs one request through resolveGrant → scope → buildSessionPolicy and checks whichever outcome it has. */
async function checkPure(client: ClientRef, sub: string, otherSub: string, req: PolicyRequest, seed: number, tally: Tally): Promise<void> {
  const caller = callerFor(client, sub);
  const grant = await resolveGrant(STORE, caller);
  let scope: Scope;
  let policy: string;
  let key: string | undefined;
  try {
    if (req.kind === 'credentials') {
      scope = scopeForCredentials(grant, { actions: req.actions, prefix: req.prefix }).scope;
    } else {
      // A presign's session is the grant prefix for one action; the URL binds the key.
      const request = scopeForObject(grant, { action: req.action, relativeKey: req.key });
      scope = sessionScopeFor(request);
      key = request.objectKey;
    }
    policy = buildSessionPolicy(scope);
  } catch (err) {
    if (!(err instanceof BrokerError)) throw err;
    tally.refused[err.code] = (tally.refused[err.code] ?? 0) + 1;
    expectHonestRefusal(err.code, err.status, err.message, req, grant);
    return;
  }
  tally.policies += 1;
  const requestedKey = key ?? `${scope.prefix}probe/object.bin`;
  // The key rules hold for what the policy names.
  expect(requestedKey.normalize('NFC')).toBe(requestedKey);
  expect(Buffer.byteLength(requestedKey, 'utf8')).toBeLessThanOrEqual(1024 + 'probe/object.bin'.length);
  const other = client.method === 'jwt' ? await otherSubjectPrefix(client, sub, otherSub) : undefined;
  await expectPolicyExact(policy, scope, requestedKey, seed, other);
}

/** The status and code fit the input, and an invalid_key names a rule the input breaks. */
function expectHonestRefusal(code: string, status: number, message: string, req: PolicyRequest, grant: Grant): void {
  // Raw credentials never carry `write` unless the client opted in (IAM cannot bind size or type).
  const rawWrite = grant.client.rawWriteCredentials === true;
  const vendable = rawWrite ? grant.client.actions : grant.client.actions.filter((a) => a !== 'write');
  const requested = req.kind === 'credentials' ? req.actions ?? vendable : [req.action];
  switch (code) {
    case 'invalid_key':
      expect(status).toBe(400);
      if (req.kind === 'credentials') expectRuleBroken(message, req.prefix ?? '', 'prefix', grant);
      else expectRuleBroken(message, req.key, 'key', grant);
      return;
    case 'policy_too_large':
      expect(status).toBe(400);
      expectTooLarge(message);
      return;
    case 'invalid_request':
      expect(status).toBe(400);
      expect(message).toBe('actions must not be empty');
      expect(requested).toEqual([]);
      return;
    case 'outside_grant':
      expect(status).toBe(403);
      if (req.kind === 'credentials') {
        // outside the grant, write without the opt-in, or nothing left once write is withheld
        expect(requested.some((a) => !vendable.includes(a)) || requested.length === 0).toBe(true);
      } else {
        expect(requested.some((a) => !grant.client.actions.includes(a))).toBe(true);
      }
      return;
    default:
      throw new Error(`unexpected refusal ${status} ${code}: ${message}`);
  }
}

/** The grant prefix another subject gets; it must be a different folder, neither inside the other. */
async function otherSubjectPrefix(client: ClientRef, sub: string, otherSub: string): Promise<string> {
  const mine = (await resolveGrant(STORE, callerFor(client, sub))).prefix;
  const theirs = (await resolveGrant(STORE, callerFor(client, otherSub))).prefix;
  if (sub !== otherSub) {
    expect(theirs.startsWith(mine)).toBe(false);
    expect(mine.startsWith(theirs)).toBe(false);
  }
  return theirs;
}

const pureCase = fc.record({
  client: fc.constantFrom(...CLIENTS),
  subs: subjectPair,
  req: request,
  seed: fc.nat(),
});

describe('session policy for any request (property, pure pipeline)', () => {
  it(`refuses with a named rule or grants exactly the request (${PURE_RUNS} runs)`, async () => {
    const tally = newTally();
    await fc.assert(
      fc.asyncProperty(pureCase, async ({ client, subs: [sub, otherSub], req, seed }) => {
        await checkPure(client, sub, otherSub, req, seed, tally);
      }),
      { numRuns: PURE_RUNS },
    );
    // Not vacuous: every outcome occurred in meaningful numbers. The seed is random, so each bound
    // sits far below what the generators produce (measured over runs: policies ≈ 25% of runs, sd ≈ 1%;
    // invalid_key ≈ 46%; outside_grant ≈ 22%; policy_too_large ≈ 23 cases, sd ≈ 5): a miss means a
    // generator or rule changed, never bad luck (policies at 15% is more than 10 sd below the mean).
    expect(tally.policies).toBeGreaterThan(PURE_RUNS * 0.15);
    expect(tally.refused['invalid_key'] ?? 0).toBeGreaterThan(PURE_RUNS * 0.1);
    expect(tally.refused['policy_too_large'] ?? 0).toBeGreaterThan(5);
    expect(tally.refused['outside_grant'] ?? 0).toBeGreaterThan(10);
  });

  it(`never lets two different subjects share a folder (${SUBJECT_PAIR_RUNS} runs)`, async () => {
    const jwtClients = CLIENTS.filter((c) => c.method === 'jwt');
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...jwtClients), subjectPair, async (client, [a, b]) => {
        const grantA = await resolveGrant(STORE, callerFor(client, a));
        const grantB = await resolveGrant(STORE, callerFor(client, b));
        expect(encodeSubject(a)).not.toBe(encodeSubject(b));
        expect(grantA.prefix.startsWith(grantB.prefix) || grantB.prefix.startsWith(grantA.prefix)).toBe(false);
        // One path segment where ${sub} stood, of the safe charset.
        const template = grantA.client.prefix.split('/');
        const segments = grantA.prefix.split('/');
        expect(segments).toHaveLength(template.length);
        expect(segments[template.indexOf('${sub}')]).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
        const policy = buildSessionPolicy(scopeForCredentials(grantA).scope);
        await expectOutcome(policy, 's3:GetObject', `arn:${grantA.partition}:s3:::${grantA.partner.bucket}/${grantB.prefix}x`, {}, false);
        await expectOutcome(policy, 's3:GetObject', `arn:${grantA.partition}:s3:::${grantA.partner.bucket}/${grantA.prefix}x`, {}, true);
      }),
      { numRuns: SUBJECT_PAIR_RUNS },
    );
  });
});

// ---- examples: the Polaris class and the traps named in the issue -------------------------

const backend = CLIENTS[0]!;
const app = CLIENTS[1]!;

async function pureOutcome(client: ClientRef, sub: string, req: PolicyRequest): Promise<{ policy: string; scope: Scope; key?: string } | BrokerError> {
  try {
    const grant = await resolveGrant(STORE, callerFor(client, sub));
    if (req.kind === 'credentials') {
      const scope = scopeForCredentials(grant, { actions: req.actions, prefix: req.prefix }).scope;
      return { policy: buildSessionPolicy(scope), scope };
    }
    const request = scopeForObject(grant, { action: req.action, relativeKey: req.key });
    const scope = sessionScopeFor(request);
    return { policy: buildSessionPolicy(scope), scope, key: request.objectKey };
  } catch (err) {
    if (err instanceof BrokerError) return err;
    throw err;
  }
}

describe('CVE-2026-42810 class and named traps (examples)', () => {
  it.each<[string, PolicyRequest]>([
    ['key "*"', { kind: 'object', action: 'read', key: '*' }],
    ['key "a*"', { kind: 'object', action: 'write', key: 'reports/a*' }],
    ['key "?"', { kind: 'object', action: 'read', key: '?' }],
    ['key "${aws:username}"', { kind: 'object', action: 'read', key: '${aws:username}' }],
    ['key "${*}" (an escape is not allowed either)', { kind: 'object', action: 'read', key: '${*}' }],
    ['prefix "*/"', { kind: 'credentials', actions: undefined, prefix: '*/' }],
    ['prefix "?/"', { kind: 'credentials', actions: undefined, prefix: '?/' }],
    ['prefix "$/"', { kind: 'credentials', actions: undefined, prefix: '$/' }],
  ])('refuses %s with 400 invalid_key naming the IAM-wildcard rule', async (_name, req) => {
    for (const client of [backend, app]) {
      const outcome = await pureOutcome(client, 'alice', req);
      expect(outcome).toBeInstanceOf(BrokerError);
      const err = outcome as BrokerError;
      expect([err.status, err.code]).toEqual([400, 'invalid_key']);
      expect(err.message).toContain('must not contain "*", "?" or "$" (IAM wildcards and variables: the Polaris CVE-2026-42810 class)');
    }
  });

  it.each<[string, PolicyRequest, string]>([
    ['prefix "../"', { kind: 'credentials', actions: undefined, prefix: '../' }, 'prefix must not contain "." or ".." segments'],
    ['prefix "../globex/"', { kind: 'credentials', actions: undefined, prefix: '../globex/' }, 'prefix must not contain "." or ".." segments'],
    ['prefix "/"', { kind: 'credentials', actions: undefined, prefix: '/' }, 'prefix must not start with "/"'],
    ['key "../acme2/x"', { kind: 'object', action: 'read', key: '../acme2/x' }, 'key must not contain "." or ".." segments'],
    ['key "a//b"', { kind: 'object', action: 'read', key: 'a//b' }, 'key must not contain an empty segment ("//" or a trailing "/")'],
    ['key "/etc"', { kind: 'object', action: 'read', key: '/etc' }, 'key must not start with "/"'],
    ['key with a NUL', { kind: 'object', action: 'read', key: 'a\u0000b' }, 'key must not contain control characters (C0, DEL or C1)'],
    ['key with a lone surrogate', { kind: 'object', action: 'read', key: 'a\ud800' }, 'key must be well-formed Unicode (no lone surrogates)'],
    ['a 1021-byte key under acme/', { kind: 'object', action: 'read', key: 'k'.repeat(1020) }, 'full key is 1025 bytes of UTF-8; the limit is 1024'],
  ])('refuses %s naming the rule', async (_name, req, message) => {
    const err = await pureOutcome(backend, 'alice', req) as BrokerError;
    expect(err).toBeInstanceOf(BrokerError);
    expect([err.status, err.code, err.message]).toEqual([400, 'invalid_key', message]);
  });

  it.each(['*', '?', '$', '${sub}', '${aws:userid}', '..', '.', '', '/', 'alice/x', '../globex', 'e\u0301'])(
    'a JWT sub %j becomes one safe segment whose policy reaches nobody else\'s folder', async (sub) => {
      const outcome = await pureOutcome(app, sub, { kind: 'credentials', actions: undefined, prefix: undefined });
      if (outcome instanceof BrokerError) throw outcome;
      const { policy, scope } = outcome;
      expect(scope.prefix).toMatch(/^acme\/users\/h-[a-z2-7]{52}\/$/);
      expect(policy).not.toMatch(/[?$]/);
      expect(policy.match(/\*/g)).toHaveLength(1); // only the trailing wildcard of the one object statement
      await expectPolicyExact(policy, scope, `${scope.prefix}photo.jpg`, 7, 'acme/users/alice/', true);
      // The simulator reads `*`, `?` and `${…}` in a request ARN as patterns too, so only literal names are probed.
      const others = ['acme/users/alice/x', 'acme/users/bob/x', 'acme/users/x', 'acme/x', `acme/users/${sub}/x`].filter((k) => !/[*?$]/.test(k));
      for (const other of others) await expectOutcome(policy, 's3:GetObject', `arn:aws:s3:::partner-bucket/${other}`, {}, false);
    },
  );

  it('a NFC key and its NFD spelling name the same object; NFC-equivalent subjects get different folders', async () => {
    const nfc = await pureOutcome(backend, '', { kind: 'object', action: 'read', key: 'café.jpg' }) as { key: string };
    const nfd = await pureOutcome(backend, '', { kind: 'object', action: 'read', key: 'cafe\u0301.jpg' }) as { key: string };
    expect(nfd.key).toBe('acme/caf\u00e9.jpg');
    expect(nfd.key).toBe(nfc.key);
    const a = await pureOutcome(app, '\u00e9', { kind: 'credentials', actions: undefined, prefix: undefined }) as { scope: Scope };
    const b = await pureOutcome(app, 'e\u0301', { kind: 'credentials', actions: undefined, prefix: undefined }) as { scope: Scope };
    expect(a.scope.prefix).not.toBe(b.scope.prefix);
  });

  it('the probes can fail: a policy that let a wildcard or a missing "/" through is caught by the simulator', async () => {
    // What the broker would build if it joined `*` or dropped the trailing slash (the bugs the properties guard).
    const leaky = (resource: string) => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: resource }] });
    const scope: Expected = { partition: 'aws', bucket: 'partner-bucket', prefix: 'acme/', actions: ['read'] };
    await expect(expectPolicyExact(leaky('arn:aws:s3:::partner-bucket/acme*'), scope, 'acme/x', 0, undefined, true)).rejects.toThrow('acme2/x');
    await expect(expectPolicyExact(leaky('arn:aws:s3:::partner-bucket/*'), scope, 'acme/x', 0, undefined, true)).rejects.toThrow('expected denied');
    await expect(expectPolicyExact(leaky('arn:aws:s3:::*/acme/*'), scope, 'acme/x', 0, undefined, true)).rejects.toThrow('globex-bucket');
    const wildcardInKey = leaky('arn:aws:s3:::partner-bucket/acme/users/*/x');
    await expect(expectOutcome(wildcardInKey, 's3:GetObject', 'arn:aws:s3:::partner-bucket/acme/users/bob/x', {}, false)).rejects.toThrow('Allowed');
  });
});

// ---- through the HTTP handler --------------------------------------------------------------

type HandlerRequest =
  | { route: 'credentials'; actions: Action[] | undefined; prefix: string | undefined }
  | { route: 'upload-put' | 'upload-post' | 'download'; key: string };

const handlerRequest: fc.Arbitrary<HandlerRequest> = fc.oneof(
  fc.record({
    route: fc.constant('credentials' as const),
    actions: fc.option(fc.subarray([...ACTIONS], { minLength: 1 }), { nil: undefined, freq: 2 }),
    prefix: fc.option(narrowingPrefix, { nil: undefined, freq: 4 }),
  }),
  fc.record({ route: fc.constantFrom('upload-put' as const, 'upload-post' as const, 'download' as const), key: relativeKey }),
);

const NOW = Date.parse('2030-01-01T00:00:00Z');

function eventFor(client: ClientRef, req: HandlerRequest): { route: Route<any>; event: ReturnType<typeof apiEvent> } {
  const headers: Record<string, string> = client.apiKey ? { 'x-api-key': client.apiKey } : { authorization: 'Bearer test.jwt.token' };
  const post = (path: string, body: Record<string, unknown>) => apiEvent({ method: 'POST', path, headers, body });
  switch (req.route) {
    case 'credentials': {
      const body = { ...(req.actions ? { actions: req.actions } : {}), ...(req.prefix === undefined ? {} : { prefix: req.prefix }) };
      return { route: credentialsRoute, event: post('/v1/credentials', body) };
    }
    case 'upload-put':
      return { route: uploadsRoute, event: post('/v1/uploads', { method: 'PUT', key: req.key, contentType: client.contentType, contentLength: 1 }) };
    case 'upload-post':
      return { route: uploadsRoute, event: post('/v1/uploads', { method: 'POST', key: req.key, contentType: client.contentType }) };
    case 'download':
      return { route: downloadsRoute, event: post('/v1/downloads', { key: req.key }) };
  }
}

describe('session policy for any request (property, through the HTTP handler)', () => {
  it(`answers 400/403 naming the rule before STS, or an exact policy and a URL bound to the key (${HANDLER_RUNS} runs)`, async () => {
    const tally = newTally();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...CLIENTS), subjectPair, handlerRequest, fc.nat(), async (client, [sub, otherSub], req, seed) => {
        const caller = callerFor(client, sub);
        const { deps, issuer } = testDeps(CONFIG, { jwtSubject: { partnerId: client.partnerId, clientId: client.clientId, subject: sub }, now: () => NOW });
        const { route, event } = eventFor(client, req);
        const { res, body } = await invokeRoute(route, deps, event);
        const grant = await resolveGrant(STORE, caller);

        if (res.statusCode !== 200) {
          expect(issuer.requests).toHaveLength(0); // refused before STS
          expect(body.error.requestId).toBe(event.requestContext.requestId);
          tally.refused[body.error.code] = (tally.refused[body.error.code] ?? 0) + 1;
          const input = req.route === 'credentials' ? req.prefix ?? '' : req.key;
          if (body.error.code === 'invalid_request') {
            expect(res.statusCode).toBe(400);
            if (/\p{Cs}/u.test(input)) {
              // a lone surrogate is refused in any field before the schema looks at it
              expect(body.error.message).toMatch(/^body\.(key|prefix): must be well-formed Unicode/);
              return;
            }
            // the schema's own bounds (1..1024 UTF-16 units) come before the key rules
            expect(body.error.message).toMatch(input === '' ? /^body\.(key|prefix): Too small/ : /^body\.(key|prefix): Too big/);
            expect(input === '' || input.length > 1024).toBe(true);
            return;
          }
          const pureReq: PolicyRequest = req.route === 'credentials'
            ? { kind: 'credentials', actions: req.actions, prefix: req.prefix }
            : { kind: 'object', action: req.route === 'download' ? 'read' : 'write', key: req.key };
          expectHonestRefusal(body.error.code, res.statusCode ?? 0, body.error.message, pureReq, grant);
          return;
        }

        tally.policies += 1;
        expect(issuer.requests).toHaveLength(1);
        const policy = issuer.requests[0]!.policy;
        const other = client.method === 'jwt' ? await otherSubjectPrefix(client, sub, otherSub) : undefined;
        if (req.route === 'credentials') {
          expect(body.prefix).toBe(grant.prefix + (req.prefix?.normalize('NFC') ?? ''));
          if (grant.client.rawWriteCredentials !== true) expect(body.actions).not.toContain('write');
          const expected: Expected = { partition: grant.partition, bucket: grant.partner.bucket, prefix: body.prefix, actions: body.actions };
          await expectPolicyExact(policy, expected, `${body.prefix}probe/object.bin`, seed, other);
          return;
        }
        // Presign: the signing session may use one verb under the grant prefix; the URL binds one key.
        const fullKey = grant.prefix + req.key.normalize('NFC');
        expect(body.key).toBe(fullKey);
        const verb = req.route === 'download' ? 'read' : 'write';
        await expectPolicyExact(policy, { partition: grant.partition, bucket: grant.partner.bucket, prefix: grant.prefix, actions: [verb] }, fullKey, seed, other);
        if (req.route === 'upload-post') {
          expect(body.fields.key).toBe(fullKey);
        } else {
          const url = new URL(body.url);
          expect(decodeURIComponent(url.pathname.slice(1))).toBe(fullKey);
          expect(url.hostname.startsWith(`${grant.partner.bucket}.`)).toBe(true);
        }
      }),
      { numRuns: HANDLER_RUNS },
    );
    // Bounds far below the measured rates (policies ≈ 26% of runs, sd ≈ 3%; invalid_key ≈ 40%), as above.
    expect(tally.policies).toBeGreaterThan(HANDLER_RUNS * 0.1);
    expect(tally.refused['invalid_key'] ?? 0).toBeGreaterThan(HANDLER_RUNS * 0.1);
  });
});

describe('upload contracts in the session policy (any JWT subject, any contract tag template)', () => {
  const TAG_CHARS = fc.constantFrom(...'abcXYZ019 _.:/=+-@é'.split(''));
  const template = fc.tuple(fc.array(TAG_CHARS, { maxLength: 20 }).map((a) => a.join('')), fc.constantFrom('', '${sub}', '${client}', '${requestId}'))
    .map(([lit, v]) => `${lit}${v}`);
  const OBJ = 'arn:aws:s3:::acme-bucket/acme/users/';

  it('the policy is valid and fits; the contract\'s value is allowed, another is explicitly denied, an absent one allowed (UploadPart)', async () => {
    await fc.assert(fc.asyncProperty(fc.string({ minLength: 1, maxLength: 200 }), template, fc.boolean(), async (subject, value, overwrite) => {
      const caller = { subjectSegment: encodeSubject(subject), clientId: 'app', partnerId: 'acme' };
      const contract = sessionContract({ integrity: 'none', overwrite, tags: { owner: value }, metadata: {} }, caller)!;
      const prefix = `acme/users/${caller.subjectSegment}/`;
      const policy = buildSessionPolicy({ partition: 'aws', bucket: 'acme-bucket', prefix, actions: ['write'] }, contract);
      expect(validatePolicy(policy)).toEqual([]);
      expect(policy.length).toBeLessThanOrEqual(MAX_SESSION_POLICY_CHARS);
      const obj = `${OBJ}${caller.subjectSegment}/f.bin`;
      const base = { 's3:if-none-match': '*', 's3:ObjectCreationOperation': 'true' };
      const pinned = contract.tags.owner ?? null;
      if (pinned !== null) {
        await expect(simulate(policy, 's3:PutObject', obj, { ...base, 's3:RequestObjectTag/owner': pinned })).resolves.toBe('Allowed');
        await expect(simulate(policy, 's3:PutObject', obj, { ...base, 's3:RequestObjectTag/owner': `${pinned}x` })).resolves.toBe('ExplicitlyDenied');
      }
      await expect(simulate(policy, 's3:PutObject', obj, { 's3:ObjectCreationOperation': 'false' })).resolves.toBe('Allowed');
      await expect(simulate(policy, 's3:PutObject', obj, { 's3:ObjectCreationOperation': 'true' })).resolves.toBe(overwrite ? 'Allowed' : 'ExplicitlyDenied');
    }), { numRuns: 60 });
  });
});
