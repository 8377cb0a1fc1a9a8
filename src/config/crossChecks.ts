/**
 * Config rules that span fields or need more than one value's worth of context, run after the
 * zod schema has accepted the shape: the whole-store invariants any grant store must keep
 * (rules/storeInvariants.ts), then the rules of this file's YAML deployment (https endpoints, CORS
 * origins, durations, the widest session policy). Each finding names a dotted path so the broker can refuse
 * to start with the bad field named (docs/security.md lists the rules).
 */
import type { Client, JwtClientSettings, Partner } from '../domain/model.js';
import type { ConfigFindings, ConfigIssue } from '../rules/issues.js';
import { corsOriginProblem } from '../rules/corsOrigin.js';
import { endpointProblem } from '../rules/loopback.js';
import { partitionOf } from '../rules/partition.js';
import { buildSessionPolicy } from '../rules/sessionPolicy.js';
import { MAX_VARIABLE_CHARS, sessionContract } from '../rules/uploadContract.js';
import { MAX_SUBJECT_SEGMENT, prefixIssues, storeInvariantFindings, SUB, type StoreClient } from '../rules/storeInvariants.js';
import type { BrokerConfig } from './schema.js';

export type { ConfigFindings, ConfigIssue } from '../rules/issues.js';

type ClientAt = StoreClient;

/** Every client with its dotted path, in config order. */
function clientsOf(config: BrokerConfig): ClientAt[] {
  return Object.entries(config.partners).flatMap(([partnerId, partner]) =>
    Object.entries(partner.clients).map(([clientId, client]) => ({
      path: `partners.${partnerId}.clients.${clientId}`, partnerId, clientId, partner, client,
    })));
}

/** The issues that refuse `config`; empty when it is acceptable. */
export function crossChecks(config: BrokerConfig): ConfigIssue[] {
  return crossCheckFindings(config).issues;
}

/** Issues (refusals) and notices (accepted, worth an operator's eye) for `config`. */
export function crossCheckFindings(config: BrokerConfig): ConfigFindings {
  const clients = clientsOf(config);
  const allow = config.allowInsecureLoopbackHttp;
  const store = storeInvariantFindings(clients);
  const issues = [
    ...Object.entries(config.partners).flatMap(([partnerId, partner]) => partnerEndpointIssues(`partners.${partnerId}`, partner, allow)),
    ...store.issues,
    ...clients.flatMap((c) => (c.client.jwt ? jwtUrlIssues(c, c.client.jwt, allow) : [])),
    ...clients.flatMap((c) => corsOriginIssues(c, allow)),
    ...clients.flatMap((c) => clientDurationIssues(c)),
    ...clients.flatMap((c) => widestPolicyIssues(c)),
  ];
  return { issues, notices: store.notices };
}

/**
 * STS answers carry a secret key and S3 carries the partner's data: both endpoints are https
 * (loopback http only for local development, with allowInsecureLoopbackHttp).
 */
function partnerEndpointIssues(path: string, partner: Partner, allow: boolean): ConfigIssue[] {
  return (['stsEndpoint', 's3Endpoint'] as const).flatMap((field) => {
    const value = partner[field];
    const problem = value === undefined ? undefined : endpointProblem(value, allow);
    return problem === undefined ? [] : [{ path: `${path}.${field}`, message: problem }];
  });
}

export { corsOriginProblem } from '../rules/corsOrigin.js';

function corsOriginIssues({ path, client }: ClientAt, allow: boolean): ConfigIssue[] {
  return client.cors.origins.flatMap((origin, i) => {
    const problem = corsOriginProblem(origin, allow);
    return problem === undefined ? [] : [{ path: `${path}.cors.origins.${i}`, message: problem }];
  });
}

/**
 * A grant whose widest session policy (all its actions, `${sub}` at its longest, the upload
 * contract's statements with every per-caller tag value at its longest) exceeds STS's limit could
 * never vend whole-grant credentials: refuse it at start, not on every request. The prefix is
 * blamed when it alone is too long, else the upload contract.
 */
function widestPolicyIssues(at: ClientAt): ConfigIssue[] {
  const { path, partner, client } = at;
  if (prefixIssues(at).length > 0) return [];
  const prefix = client.prefix.replaceAll(SUB, 'x'.repeat(MAX_SUBJECT_SEGMENT));
  const scope = { partition: partitionOf(partner.roleArn), bucket: partner.bucket, prefix, actions: client.actions };
  try {
    buildSessionPolicy(scope);
  } catch (err) {
    return [{ path: `${path}.prefix`, message: `too long: ${(err as Error).message}` }];
  }
  if (client.upload === undefined) return [];
  // Every variable at its longest: a subject segment, and client and partner names standing in at the same length.
  const longest = 'x'.repeat(Math.max(MAX_SUBJECT_SEGMENT, MAX_VARIABLE_CHARS));
  try {
    buildSessionPolicy(scope, sessionContract(client.upload, { subjectSegment: longest, clientId: longest, partnerId: longest }));
    return [];
  } catch (err) {
    return [{
      path: `${path}.upload`,
      message: `too large for a session policy: ${(err as Error).message.replace(': use a shorter prefix or key', '')} with this upload contract `
        + '(each tag adds a statement): use fewer or shorter tags, or a shorter prefix',
    }];
  }
}

function jwtUrlIssues({ path }: ClientAt, jwt: JwtClientSettings, allowInsecureLoopbackHttp: boolean): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const issuerProblem = endpointProblem(jwt.issuer, allowInsecureLoopbackHttp);
  if (issuerProblem) issues.push({ path: `${path}.jwt.issuer`, message: issuerProblem });
  const jwksProblem = jwt.jwksUri === undefined ? undefined : endpointProblem(jwt.jwksUri, allowInsecureLoopbackHttp);
  if (jwksProblem) issues.push({ path: `${path}.jwt.jwksUri`, message: jwksProblem });
  return issues;
}

/** A client may narrow its partner's session cap, never widen it. */
function clientDurationIssues({ path, partner, client }: ClientAt): ConfigIssue[] {
  if (client.maxDurationSeconds === undefined || client.maxDurationSeconds <= partner.maxDurationSeconds) return [];
  return [{ path: `${path}.maxDurationSeconds`, message: `must not exceed the partner's maxDurationSeconds (${partner.maxDurationSeconds})` }];
}
