/**
 * Section 2: STS calls over two simulated hours: 100,000 presigns from 10 partners × 10 subjects,
 * expiries 60–900 s, through signingSession + SessionCache with a counting issuer and a fake clock,
 * beside the theoretical minimum; one container, then 4 with separate caches. Goal ≤ 1.2× the
 * minimum and ≤ 1% of requests.
 */
import { stringify } from 'yaml';
import { SessionCache } from '../../src/rules/sessionCache.js';
import type { BrokerDeps } from '../../src/usecases/deps.js';
import { signingSession } from '../../src/usecases/session.js';
import { scopeForObject } from '../../src/rules/scope.js';
import { parseConfig } from '../../src/config/load.js';
import { YamlGrantStore } from '../../src/adapters/yamlGrantStore.js';
import { resolveGrant } from '../../src/usecases/resolveGrant.js';
import { encodeSubject } from '../../src/rules/subject.js';
import type { AssumeRoleRequest, Caller } from '../../src/domain/model.js';
import type { CredentialIssuer } from '../../src/ports/ports.js';
import { prng } from './harness.js';
import type { Runs } from './settings.js';

interface SimRequest { t: number; caller: number; action: 'read' | 'write'; expiresIn: number }
export interface SimOutcome { label: string; containers: number; stsCalls: number; minimum: number; scopes: number; requests: number; shortened: number }

export const SIM = { partners: 10, subjectsPerPartner: 10, hours: 2, minExpires: 60, maxExpires: 900, writeShare: 0.7, sessionSeconds: 3600 } as const;

/** SIM.partners partners, each with one JWT client and a folder per subject. */
function simConfigYaml(): string {
  const partners: Record<string, unknown> = {};
  for (let p = 0; p < SIM.partners; p += 1) {
    partners[`p${p}`] = {
      roleArn: `arn:aws:iam::${String(100000000000 + p)}:role/Role-P${p}`,
      bucket: `partner-${p}-bucket`,
      region: 'eu-west-1',
      maxDurationSeconds: SIM.sessionSeconds,
      clients: {
        app: {
          jwt: { issuer: `https://idp-${p}.example`, audience: `app-${p}`, algorithms: ['ES256'] },
          prefix: `p${p}/users/\${sub}/`,
          actions: ['read', 'write'],
          maxUploadBytes: 10485760,
          contentTypes: ['image/jpeg'],
        },
      },
    };
  }
  return stringify({ partners });
}

function simRequests(count: number, callers: number, seed: number): SimRequest[] {
  const random = prng(seed);
  const span = SIM.hours * 3600 * 1000;
  const times = Array.from({ length: count }, () => Math.floor(random() * span)).sort((a, b) => a - b);
  return times.map((t) => ({
    t,
    caller: Math.floor(random() * callers),
    action: random() < SIM.writeShare ? 'write' : 'read',
    expiresIn: SIM.minExpires + Math.floor(random() * (SIM.maxExpires - SIM.minExpires + 1)),
  }));
}

/**
 * The fewest AssumeRoles any cache could make for this stream: per (container, scope), a session
 * issued at the first request it serves lasts `sessionSeconds`, and serves a later request only if it
 * outlives that request's URL. Starting a session as late as possible is optimal (greedy).
 */
function minimumSessions(requests: readonly SimRequest[], containerOf: (i: number) => number, sessionMs: number): { sessions: number; scopes: number } {
  const sessionStart = new Map<string, number>();
  let sessions = 0;
  requests.forEach((r, i) => {
    const scope = `${containerOf(i)}\u0000${r.caller}\u0000${r.action}`;
    const start = sessionStart.get(scope);
    const needMs = Math.min(r.expiresIn * 1000, sessionMs);
    if (start === undefined || r.t + needMs > start + sessionMs) {
      sessionStart.set(scope, r.t);
      sessions += 1;
    }
  });
  return { sessions, scopes: sessionStart.size };
}

export async function stsCallsSimulation(runs: Runs): Promise<SimOutcome[]> {
  const config = parseConfig(simConfigYaml(), 'bench-sim.yaml');
  const store = new YamlGrantStore(config);
  const callers: Caller[] = [];
  for (let p = 0; p < SIM.partners; p += 1) {
    for (let s = 0; s < SIM.subjectsPerPartner; s += 1) {
      const subject = `user-${s}`;
      callers.push({ partnerId: `p${p}`, clientId: 'app', method: 'jwt', subject, subjectSegment: encodeSubject(subject) });
    }
  }
  const grants = await Promise.all(callers.map((c) => resolveGrant(store, c)));
  const requests = simRequests(runs.simRequests, callers.length, 20260301);
  const random = prng(7);
  const randomContainer = requests.map(() => Math.floor(random() * 4));
  const scenarios: Array<{ label: string; containers: number; containerOf: (i: number) => number }> = [
    { label: '1 container', containers: 1, containerOf: () => 0 },
    { label: '4 containers, round-robin', containers: 4, containerOf: (i) => i % 4 },
    { label: '4 containers, random', containers: 4, containerOf: (i) => randomContainer[i]! },
  ];
  const outcomes: SimOutcome[] = [];
  for (const scenario of scenarios) {
    let clock = Date.parse('2026-03-01T00:00:00Z');
    const start = clock;
    let stsCalls = 0;
    const issuer: CredentialIssuer = {
      assumeRole: async (request: AssumeRoleRequest) => {
        stsCalls += 1;
        const n = String(stsCalls);
        return { accessKeyId: `ASIA${n}`, secretAccessKey: `s${n}`, sessionToken: `t${n}`, expiration: new Date(clock + request.durationSeconds * 1000) };
      },
    };
    const containers = Array.from({ length: scenario.containers }, () => ({
      settings: { BROKER_STS_ENDPOINT: undefined, BROKER_S3_ENDPOINT: undefined, BROKER_VERSION: 'bench' },
      sessions: new SessionCache(issuer, { maxEntries: 500, clock: () => clock }),
      // signingSession reads the clock too (revocation cut-off): the same simulated one.
      clock: () => clock,
    }) as unknown as BrokerDeps);
    let shortened = 0;
    for (let i = 0; i < requests.length; i += 1) {
      const r = requests[i]!;
      clock = start + r.t;
      const grant = grants[r.caller]!;
      const request = scopeForObject(grant, { action: r.action, relativeKey: 'bench/object.bin' });
      const session = await signingSession(containers[scenario.containerOf(i)]!, callers[r.caller]!, grant, request, r.expiresIn);
      // presignWindow would cap the URL at the session's expiry: count it if that ever happens
      if (session.credentials.expiration.getTime() - clock < r.expiresIn * 1000) shortened += 1;
    }
    const minimum = minimumSessions(requests, scenario.containerOf, SIM.sessionSeconds * 1000);
    outcomes.push({
      label: scenario.label,
      containers: scenario.containers,
      stsCalls,
      minimum: minimum.sessions,
      scopes: minimum.scopes,
      requests: requests.length,
      shortened,
    });
  }
  return outcomes;
}
