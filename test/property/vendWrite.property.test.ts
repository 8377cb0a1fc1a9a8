/**
 * Raw write credentials are opt-in. IAM has no condition key for object size or Content-Type, so a
 * session that may PutObject escapes the client's maxUploadBytes and contentTypes. For any grant
 * (a subset of the actions), either setting of `rawWriteCredentials` and any requested action set
 * (or none), on each of the three credentials routes, through the real handler and judged by the
 * IAM simulator on the policy actually sent to STS:
 *  - without the opt-in no vended policy allows s3:PutObject, s3:AbortMultipartUpload or
 *    s3:ListMultipartUploadParts, and every refusal is a 403 outside_grant before STS that has a
 *    reason (write asked for, an action outside the grant, or a write-only grant);
 *  - with it, the session allows exactly what was asked (the whole grant when nothing was asked),
 *    and nothing else; asking outside the grant is refused as before.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ACTIONS, type Action } from '../../src/domain/actions.js';
import type { Route } from '../../src/http/route.js';
import { OBJECT_ACTIONS } from '../../src/rules/sessionPolicy.js';
import { credentialsRoute } from '../../src/routes/credentials.js';
import { credentialsContainerRoute } from '../../src/routes/credentialsContainer.js';
import { credentialsProcessRoute } from '../../src/routes/credentialsProcess.js';
import { apiEvent } from '../support/apiEvent.js';
import { testDeps } from '../support/brokerDeps.js';
import { brokerConfig, FIXTURE_API_KEYS } from '../support/configFixture.js';
import { simulate } from '../support/iamSim.js';
import { invokeRoute } from '../support/invokeRoute.js';

const RUNS = 300;
const KEY = FIXTURE_API_KEYS.acmeBackend.key;
const BUCKET_ARN = 'arn:aws:s3:::partner-bucket';
const PROBE_KEY = 'acme/probe/object.bin';
/** Every S3 action a credentials session can be given, with the verb that grants it. */
const S3_ACTIONS: ReadonlyArray<{ verb: Action; action: string }> = [
  ...(['read', 'write', 'delete'] as const).flatMap((verb) => OBJECT_ACTIONS[verb].map((action) => ({ verb, action }))),
  { verb: 'list', action: 's3:ListBucket' },
];
const WRITE_S3_ACTIONS = OBJECT_ACTIONS.write;

type RouteName = 'credentials' | 'process' | 'container';

function eventFor(route: RouteName, requested: readonly Action[] | undefined): { route: Route<any>; event: ReturnType<typeof apiEvent> } {
  if (route === 'credentials') {
    return { route: credentialsRoute, event: apiEvent({ method: 'POST', path: '/v1/credentials', headers: { 'x-api-key': KEY }, body: requested ? { actions: requested } : {} }) };
  }
  const query = requested ? { query: { actions: requested.join(',') } } : {};
  return route === 'process'
    ? { route: credentialsProcessRoute, event: apiEvent({ method: 'GET', path: '/v1/credentials/process', headers: { 'x-api-key': KEY }, ...query }) }
    : { route: credentialsContainerRoute, event: apiEvent({ method: 'GET', path: '/v1/credentials/container', headers: { authorization: KEY }, ...query }) };
}

/** What the simulator says the session may do with one object (and the listing) under the grant prefix. */
async function allowedVerbsActions(policy: string): Promise<Set<string>> {
  const allowed = new Set<string>();
  for (const { action } of S3_ACTIONS) {
    const outcome = action === 's3:ListBucket'
      ? await simulate(policy, action, BUCKET_ARN, { 's3:prefix': 'acme/' })
      : await simulate(policy, action, `${BUCKET_ARN}/${PROBE_KEY}`);
    if (outcome === 'Allowed') allowed.add(action);
  }
  return allowed;
}

const expectedS3Actions = (verbs: readonly Action[]): Set<string> =>
  new Set(S3_ACTIONS.filter((a) => verbs.includes(a.verb)).map((a) => a.action));

describe('raw write credentials only with rawWriteCredentials: true (property, through the handlers, IAM simulator)', () => {
  it(`never vends write without the opt-in; with it, exactly what was asked within the grant (${RUNS} runs)`, async () => {
    const tally = { vendedWithout: 0, refusedWithout: 0, vendedWith: 0, refusedWith: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.subarray([...ACTIONS], { minLength: 1 }),
        fc.constantFrom<boolean | undefined>(true, false, undefined),
        fc.option(fc.subarray([...ACTIONS], { minLength: 1 }), { nil: undefined, freq: 3 }),
        fc.constantFrom<RouteName>('credentials', 'process', 'container'),
        async (granted, rawWrite, requested, routeName) => {
          const config = brokerConfig({ partners: { acme: { clients: { backend: { actions: granted, rawWriteCredentials: rawWrite } } } } });
          const { deps, issuer } = testDeps(config);
          const { route, event } = eventFor(routeName, requested);
          const { res, body } = await invokeRoute(route, deps, event);
          const optedIn = rawWrite === true;
          const outside = (requested ?? []).filter((a) => !granted.includes(a));

          if (res.statusCode !== 200) {
            // every refusal here is about what was asked, and comes before STS
            expect({ status: res.statusCode, code: body.error?.code }).toEqual({ status: 403, code: 'outside_grant' });
            expect(issuer.requests).toHaveLength(0);
            if (optedIn) {
              expect(outside.length).toBeGreaterThan(0);
              tally.refusedWith += 1;
            } else {
              const writeAsked = requested?.includes('write') === true && granted.includes('write');
              const writeOnly = requested === undefined && granted.every((a) => a === 'write');
              expect(outside.length > 0 || writeAsked || writeOnly).toBe(true);
              if (outside.length === 0) expect(body.error.message).toContain('rawWriteCredentials: true');
              tally.refusedWithout += 1;
            }
            return;
          }

          expect(issuer.requests).toHaveLength(1);
          const allowed = await allowedVerbsActions(issuer.requests[0]!.policy);
          const vended = requested ?? (optedIn ? granted : granted.filter((a) => a !== 'write'));
          expect(outside).toEqual([]);
          if (!optedIn) {
            for (const action of WRITE_S3_ACTIONS) expect(allowed.has(action)).toBe(false);
            tally.vendedWithout += 1;
          } else {
            tally.vendedWith += 1;
          }
          expect([...allowed].sort()).toEqual([...expectedS3Actions(vended)].sort());
          if (routeName === 'credentials') expect(body.actions).toEqual(ACTIONS.filter((a) => vended.includes(a)));
        },
      ),
      { numRuns: RUNS },
    );
    // every branch is exercised, not just the easy one
    for (const [branch, n] of Object.entries(tally)) expect({ branch, exercised: n > RUNS * 0.05 }).toEqual({ branch, exercised: true });
  }, 120_000);
});
