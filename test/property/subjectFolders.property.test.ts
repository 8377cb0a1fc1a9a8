/**
 * `${sub}` folders across clients, partners and issuers on one bucket (src/rules/subjectFolders.ts),
 * over random configs: prefixes built from a small alphabet of segments (with `${sub}`, and a
 * segment no subject can become), API-key and JWT clients, literal and template prefixes, 1–2
 * partners on 1–2 buckets, 1–2 issuers, declared shares between twins of one issuer.
 *
 * 1. Soundness, through the IAM simulator: for every config the checker accepts, every object a
 *    `${sub}` caller's session policy (buildSessionPolicy, as the broker builds it) allows is inside
 *    no other subject's folder and no other client's prefix, unless that prefix is literal and a
 *    prefix of the template's text before `${sub}`, or the other client is a declared share twin
 *    and the subject is the same.
 * 2. Exactness, by brute force over subjects: the checker refuses exactly the pairs of clients
 *    whose folders meet (one equal to, inside or above the other) for some pair of subjects, minus
 *    the allowed cases above; so it neither misses a collision nor refuses a config without one.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { crossCheckFindings } from '../../src/config/crossChecks.js';
import { configSchema } from '../../src/config/schema.js';
import { encodeSubject } from '../../src/rules/subject.js';
import { buildSessionPolicy } from '../../src/rules/sessionPolicy.js';
import { sha256Hex } from '../support/configFixture.js';
import { simulate } from '../support/iamSim.js';

const SIM_RUNS = 300;
const EXACT_RUNS = 1500;
const SUB = '${sub}';

/** Literal segments: subject-shaped ones (a subject can become them) and `café` (none can). */
const LITERALS = ['a', 'b', 'users', 'acme', 'x-1', 'café'] as const;

interface GenClient {
  name: string;
  kind: 'key' | 'jwt';
  partner: 0 | 1;
  issuer: 0 | 1;
  prefix: string;
  shares: string[];
}
interface GenConfig {
  clients: GenClient[];
  buckets: [string, string];
}

const segments = fc.array(fc.constantFrom(...LITERALS), { minLength: 0, maxLength: 3 });
const genClient = fc.record({
  kind: fc.constantFrom('key' as const, 'jwt' as const),
  partner: fc.constantFrom(0 as const, 1 as const),
  issuer: fc.constantFrom(0 as const, 1 as const),
  segs: segments,
  // where ${sub} goes in a JWT client's prefix (-1: a literal JWT prefix)
  subAt: fc.integer({ min: -1, max: 3 }),
});
const genConfig: fc.Arbitrary<GenConfig> = fc.record({
  raw: fc.array(genClient, { minLength: 2, maxLength: 4 }),
  twoBuckets: fc.boolean(),
  declareShares: fc.boolean(),
}).map(({ raw, twoBuckets, declareShares }) => {
  const clients = raw.map((c, i): GenClient => {
    const segs: string[] = [...c.segs];
    if (c.kind === 'jwt' && c.subAt >= 0) segs.splice(Math.min(c.subAt, segs.length), 0, SUB);
    if (segs.length === 0) segs.push('a');
    return { name: `c${i}`, kind: c.kind, partner: c.partner, issuer: c.issuer, prefix: `${segs.join('/')}/`, shares: [] };
  });
  if (declareShares) {
    // twins: one partner, one issuer, one template: declare the share both ways
    for (const x of clients) {
      x.shares = clients.filter((y) => y !== x && y.kind === 'jwt' && x.kind === 'jwt' && x.prefix.includes(SUB)
        && y.partner === x.partner && y.issuer === x.issuer && y.prefix === x.prefix).map((y) => y.name);
    }
  }
  return { clients, buckets: ['bucket-one', twoBuckets ? 'bucket-two' : 'bucket-one'] };
});

/** Subjects: the literal segments (the collisions), fresh safe ones, and arbitrary text (encoded). */
const subject = fc.oneof(fc.constantFrom(...LITERALS, 'alice', 'zz'), fc.string({ maxLength: 6 }));

const bucketOf = (cfg: GenConfig, c: GenClient): string => cfg.buckets[c.partner];
const isTemplate = (c: GenClient): boolean => c.prefix.includes(SUB);
const pathOf = (c: GenClient): string => `partners.p${c.partner}.clients.${c.name}`;
const beforeSub = (template: string): string => template.slice(0, template.indexOf(SUB));
const folder = (c: GenClient, sub: string): string => c.prefix.replace(SUB, encodeSubject(sub));
/** An unordered pair of client paths (the checker reports at whichever comes later in config order). */
const pairKey = (a: string, b: string): string => [a, b].sort().join(' & ');
const sharedTwins = (x: GenClient, y: GenClient): boolean => x.shares.includes(y.name) && y.shares.includes(x.name);

function rawConfig(cfg: GenConfig): unknown {
  const partners: Record<string, unknown> = {};
  for (const p of [0, 1] as const) {
    const mine = cfg.clients.filter((c) => c.partner === p);
    if (mine.length === 0) continue;
    partners[`p${p}`] = {
      roleArn: `arn:aws:iam::111111111111:role/Role-${p}`,
      bucket: cfg.buckets[p],
      region: 'eu-west-1',
      clients: Object.fromEntries(mine.map((c) => [c.name, {
        ...(c.kind === 'key'
          ? { apiKeys: [{ id: `k${c.name}`, sha256: sha256Hex(c.name) }] }
          : { jwt: { issuer: `https://issuer-${c.issuer}.example`, audience: `aud-${c.name}`, algorithms: ['ES256'] } }),
        prefix: c.prefix,
        actions: ['read', 'write', 'list', 'delete'],
        maxUploadBytes: 1,
        contentTypes: ['text/plain'],
        ...(c.shares.length > 0 ? { sharesSubjectFoldersWith: c.shares } : {}),
      }])),
    };
  }
  return { partners };
}

function findings(cfg: GenConfig) {
  return crossCheckFindings(configSchema.parse(rawConfig(cfg)));
}

/** Whether folder `owner` of another grant may hold an object that `caller`'s folder reaches: the allowed cases. */
function allowedMeeting(caller: GenClient, callerSub: string | undefined, other: GenClient, otherSub: string | undefined): boolean {
  if (!isTemplate(caller) && !isTemplate(other)) return true; // two literals: the operator's choice (kept)
  if (!isTemplate(other) && isTemplate(caller)) return beforeSub(caller.prefix).startsWith(other.prefix);
  if (!isTemplate(caller) && isTemplate(other)) return beforeSub(other.prefix).startsWith(caller.prefix);
  return sharedTwins(caller, other) && encodeSubject(callerSub!) === encodeSubject(otherSub!);
}

describe('${sub} folders on one bucket (properties)', () => {
  it('for every accepted config, a ${sub} caller\'s session policy reaches no other grant\'s data (IAM simulator)', async () => {
    let accepted = 0;
    let probes = 0;
    await fc.assert(fc.asyncProperty(genConfig, fc.uniqueArray(subject, { minLength: 1, maxLength: 3 }), async (cfg, subs) => {
      if (findings(cfg).issues.length > 0) return;
      accepted++;
      for (const x of cfg.clients.filter(isTemplate)) {
        const bucket = bucketOf(cfg, x);
        const others = cfg.clients.filter((y) => bucketOf(cfg, y) === bucket);
        for (const s of subs) {
          const own = folder(x, s);
          const policy = buildSessionPolicy({ partition: 'aws', bucket, prefix: own, actions: ['read', 'write', 'list', 'delete'] });
          // every grant folder on this bucket, for every subject; a probe object in each, and in our own
          const grantFolders = others.flatMap((y): Array<{ y: GenClient; t: string | undefined; f: string }> => (isTemplate(y) ? subs.map((t) => ({ y, t, f: folder(y, t) })) : [{ y, t: undefined, f: y.prefix }]));
          const keys = [...new Set([`${own}obj`, ...grantFolders.map((g) => `${g.f}obj`)])];
          for (const key of keys) {
            probes++;
            const outcome = await simulate(policy, 's3:GetObject', `arn:aws:s3:::${bucket}/${key}`);
            if (outcome !== 'Allowed') continue;
            for (const g of grantFolders) {
              if (g.y === x && g.t !== undefined && encodeSubject(g.t) === encodeSubject(s)) continue; // our own folder
              if (!key.startsWith(g.f)) continue;
              if (!allowedMeeting(x, s, g.y, g.t)) {
                throw new Error(`subject ${JSON.stringify(s)} of ${x.name} (${x.prefix}) reaches ${key}, inside ${g.y.name}'s ${JSON.stringify(g.f)}`);
              }
            }
          }
        }
      }
    }), { numRuns: SIM_RUNS });
    // the property must not hold vacuously
    console.log(`subject folders (IAM simulator): ${SIM_RUNS} configs, ${accepted} accepted, ${probes} simulated probes`);
    expect(accepted).toBeGreaterThan(SIM_RUNS / 5);
    expect(probes).toBeGreaterThan(SIM_RUNS);
  }, 120_000);

  it('refuses exactly the pairs of clients whose folders can meet (brute force over subjects)', () => {
    const SUBJECTS = [...LITERALS, 'zz'];
    let refused = 0;
    let accepted = 0;
    fc.assert(fc.property(genConfig, (cfg) => {
      const expected = new Set<string>();
      cfg.clients.forEach((later, j) => {
        for (const earlier of cfg.clients.slice(0, j)) {
          if (bucketOf(cfg, earlier) !== bucketOf(cfg, later)) continue;
          const meets = (isTemplate(earlier) ? SUBJECTS : [undefined]).some((se) => (isTemplate(later) ? SUBJECTS : [undefined]).some((sl) => {
            const fe = se === undefined ? earlier.prefix : folder(earlier, se);
            const fl = sl === undefined ? later.prefix : folder(later, sl);
            return (fe.startsWith(fl) || fl.startsWith(fe)) && !allowedMeeting(later, sl, earlier, se);
          }));
          if (meets) expected.add(pairKey(pathOf(later), pathOf(earlier)));
        }
      });
      const { issues } = findings(cfg);
      const actual = new Set(issues.map((i) => {
        const m = /^\$\{sub\} folders collide with (\S+) on /.exec(i.message);
        if (!m) throw new Error(`unexpected issue: ${i.path}: ${i.message}`);
        expect(i.path.endsWith('.prefix')).toBe(true);
        return pairKey(i.path.slice(0, -'.prefix'.length), m[1]!);
      }));
      expect([...actual].sort()).toEqual([...expected].sort());
      if (issues.length > 0) refused++;
      else accepted++;
    }), { numRuns: EXACT_RUNS });
    console.log(`subject folders (exact): ${EXACT_RUNS} configs, ${refused} refused, ${accepted} accepted`);
    expect(refused).toBeGreaterThan(EXACT_RUNS / 10);
    expect(accepted).toBeGreaterThan(EXACT_RUNS / 10);
  }, 60_000);
});
