/**
 * `npm run doctor`: the pure half. What doctor expects of a partner's setup, client by client, and
 * what an STS or S3 answer means: AccessDenied decoded into its likely causes, the bucket's CORS
 * rules against the clients' origins, the lifecycle rule that aborts abandoned multipart uploads,
 * the bucket policy's Deny statements. No I/O: adapters/aws/partnerProbe.ts makes the calls and
 * feeds the answers here, scripts/doctor.ts prints the report.
 */
import type { Action } from '../domain/actions.js';
import type { Client, Partner, SessionTag } from '../domain/model.js';
import { MAX_CHAINED_SESSION_SECONDS } from './limits.js';
import { partitionOf } from './partition.js';
import { rolePrefixes } from './partnerSetup.js';
import { fitSessionName } from './sessionIdentity.js';

/** ok: works; warn: works, but worth fixing; fail: a caller of this client will be refused; skip: not checked (says why). */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface Finding {
  /** What was checked: trust, list, read, write, delete, cors, lifecycle, bucket-policy. */
  check: string;
  status: CheckStatus;
  /** The client the finding is about; absent for partner- and bucket-wide checks. */
  client?: string;
  /** The client's prefix (with `${sub}` expanded to the doctor's subject) the check ran on. */
  prefix?: string;
  message: string;
  /** For a failure: what most likely causes it, most likely first. */
  causes?: string[];
}

export interface DoctorReport {
  partner: string;
  roleArn: string;
  bucket: string;
  region: string;
  /** The clients checked (all of the partner's, or those named with --client). */
  clients: string[];
  findings: Finding[];
  result: 'ok' | 'warnings' | 'failed';
  exitCode: number;
}

/**
 * doctor's exit statuses: 0 nothing failed (warnings and "not checked" allowed), 1 at least one
 * check failed, 2 usage error, 3 doctor could not run (invalid config, unknown partner or client).
 */
export const DOCTOR_EXIT = { ok: 0, failed: 1, usage: 2, cannotRun: 3 } as const;

/** The facts an STS or S3 error carries, as the adapter reads them (adapters/aws/stsErrors.ts readFacts). */
export interface AwsErrorFacts {
  name: string;
  status: number | undefined;
  message: string;
  /** Node system error codes (ECONNREFUSED), when the call never reached the service. */
  codes?: string[];
}

/** The subject doctor's sessions and `${sub}` folders use: readable in CloudTrail, a valid segment. */
export const DOCTOR_SUBJECT = 'sts-broker-doctor';

/**
 * What doctor may read about the bucket besides the objects: not needed by the broker, so not in
 * the permission policy `partner-policy` writes. A partner may add this statement to the role so
 * doctor can check CORS, lifecycle and bucket policy; without it those are reported "not checked".
 * (IAM action names are case-insensitive; these are the spellings of the S3 actions reference.)
 */
export const DIAGNOSTIC_ACTIONS = ['s3:GetBucketCORS', 's3:GetLifecycleConfiguration', 's3:GetBucketPolicy'] as const;

export function diagnosticStatement(partner: Pick<Partner, 'roleArn' | 'bucket'>): object {
  return {
    Sid: 'StsBrokerDoctorReadsBucketSettings',
    Effect: 'Allow',
    Action: [...DIAGNOSTIC_ACTIONS],
    Resource: `arn:${partitionOf(partner.roleArn)}:s3:::${partner.bucket}`,
  };
}

/** The session policy of doctor's partner-wide session: the three bucket reads, nothing on objects. */
export function diagnosticSessionPolicy(partner: Pick<Partner, 'roleArn' | 'bucket'>): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: [diagnosticStatement(partner)] });
}

/** Session name, SourceIdentity and tags of a doctor session, in the broker's own format (`sb.<partner>.<client>.<subject>`). */
export function doctorIdentity(partnerId: string, clientId?: string): { roleSessionName: string; sourceIdentity: string; tags: SessionTag[] } {
  const name = fitSessionName(clientId === undefined ? `sb.${partnerId}.${DOCTOR_SUBJECT}` : `sb.${partnerId}.${clientId}.${DOCTOR_SUBJECT}`);
  const tags: SessionTag[] = [
    { key: 'partner', value: partnerId },
    ...(clientId === undefined ? [] : [{ key: 'client', value: clientId }]),
    { key: 'subject', value: DOCTOR_SUBJECT },
  ];
  return { roleSessionName: name, sourceIdentity: name, tags };
}

/** The session length the broker asks for this partner (or client): what the role's MaxSessionDuration must allow. */
export function brokerSessionSeconds(partner: Partner, client?: Client): number {
  return Math.min(client?.maxDurationSeconds ?? partner.maxDurationSeconds, MAX_CHAINED_SESSION_SECONDS);
}

/** Test object doctor writes (then deletes) for a client that may write and delete: its upload contract, today content type and size. */
export interface ProbeObject {
  /** Relative to the client's prefix. */
  relativeKey: string;
  contentType: string;
  body: Buffer;
}

const PROBE_TEXT = 'sts-broker doctor: a test object, deleted right after it was written\n';

/**
 * What doctor checks for one client: its prefix (`${sub}` as the doctor's subject), its actions,
 * and the test object when the grant allows both write and delete (doctor never leaves an object
 * behind, so a client that may write but not delete gets no test object).
 */
export interface ClientPlan {
  clientId: string;
  prefix: string;
  actions: readonly Action[];
  durationSeconds: number;
  probe?: ProbeObject;
  /** Why there is no test object, when there is none although the client may write. */
  noProbeReason?: string;
}

export function clientPlan(partner: Partner, clientId: string, uniqueSuffix: string): ClientPlan {
  const client = partner.clients[clientId];
  if (client === undefined) throw new TypeError(`no client ${JSON.stringify(clientId)}`);
  const plan: ClientPlan = {
    clientId,
    prefix: client.prefix.replaceAll('${sub}', DOCTOR_SUBJECT),
    actions: client.actions,
    durationSeconds: brokerSessionSeconds(partner, client),
  };
  if (!client.actions.includes('write')) return plan;
  if (!client.actions.includes('delete')) {
    return { ...plan, noProbeReason: 'the grant allows write but not delete, and doctor never leaves an object behind' };
  }
  const types = client.contentTypes.map((t) => t.toLowerCase());
  const contentType = types.includes('text/plain') ? 'text/plain' : types[0];
  if (contentType === undefined) return { ...plan, noProbeReason: 'the grant lists no content type, so no upload can follow its contract' };
  const body = Buffer.from(PROBE_TEXT, 'utf8').subarray(0, Math.max(0, client.maxUploadBytes));
  return { ...plan, probe: { relativeKey: `${DOCTOR_SUBJECT}-${uniqueSuffix}.txt`, contentType, body } };
}

// ---- decoding errors ---------------------------------------------------------------------------

const NETWORK = ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT'];
const OWN_CREDENTIALS = new Set(['InvalidClientTokenId', 'ExpiredToken', 'ExpiredTokenException', 'SignatureDoesNotMatch', 'IncompleteSignature', 'CredentialsProviderError', 'InvalidAccessKeyId']);

function isNetwork(facts: AwsErrorFacts): boolean {
  return NETWORK.some((c) => (facts.codes ?? []).includes(c) || facts.message.includes(c))
    || ['TimeoutError', 'RequestTimeout', 'AbortError'].includes(facts.name);
}

/** A short, log-safe label for an error: its code and HTTP status. Never the service's message (it may name ARNs of other accounts). */
export function errorLabel(facts: AwsErrorFacts): string {
  return facts.status === undefined ? facts.name : `${facts.name} (HTTP ${facts.status})`;
}

/** The STS action an AccessDenied message names ("is not authorized to perform: sts:TagSession"), if any. */
export function deniedAction(message: string): string | undefined {
  return /not authorized to perform:?\s+([a-z0-9-]+:[A-Za-z0-9]+)/i.exec(message)?.[1];
}

export interface AssumeRoleContext {
  partnerId: string;
  roleArn: string;
  externalId: boolean;
  durationSeconds: number;
}

/**
 * Why AssumeRole of the partner's role failed, most likely cause first. AWS answers AccessDenied
 * alike for a role that does not exist, a trust policy that does not name the caller, a wrong or
 * missing ExternalId and a missing sts:TagSession / sts:SetSourceIdentity permission, so the
 * decoding works from what is known: whether the config has an ExternalId, and which action (if
 * any) the message names.
 */
export function diagnoseAssumeRole(facts: AwsErrorFacts, ctx: AssumeRoleContext): Finding {
  const fail = (message: string, causes: string[]): Finding => ({ check: 'trust', status: 'fail', message, causes });
  if (isNetwork(facts)) return fail(`STS could not be reached (${errorLabel(facts)})`, ['the STS endpoint (region, BROKER_STS_ENDPOINT or the partner\'s stsEndpoint) is wrong or unreachable from here']);
  if (OWN_CREDENTIALS.has(facts.name)) {
    return fail(`STS refused doctor's own credentials (${errorLabel(facts)}), before looking at the partner's role`, [
      'no valid AWS credentials in this shell: assume the broker\'s execution role first (see docs/doctor.md), or refresh expired ones',
    ]);
  }
  if (facts.name === 'RegionDisabledException') return fail(`STS is not activated in partner ${ctx.partnerId}'s region (${errorLabel(facts)})`, ['activate STS for the region in the broker\'s account (IAM → Account settings)']);
  if (/MaxSessionDuration|DurationSeconds/i.test(facts.message) || (facts.name === 'ValidationError' && /duration/i.test(facts.message))) {
    return fail(`the role refuses sessions of ${ctx.durationSeconds} s, the length the broker asks for (${errorLabel(facts)})`, [
      `raise the role's MaxSessionDuration to at least ${ctx.durationSeconds} s, or lower maxDurationSeconds for partner ${ctx.partnerId} in the config`,
    ]);
  }
  if (facts.name === 'PackedPolicyTooLarge' || facts.name === 'PackedPolicyTooLargeException') {
    return fail(`STS found the session policy and tags too large (${errorLabel(facts)})`, ['shorten the client\'s prefix']);
  }
  const denied = facts.name === 'AccessDenied' || facts.name === 'AccessDeniedException' || facts.status === 403;
  if (!denied) return fail(`STS rejected AssumeRole of ${ctx.roleArn} (${errorLabel(facts)})`, ['see the error code in the AWS STS AssumeRole reference']);

  const action = deniedAction(facts.message);
  const causes: string[] = [];
  if (/explicit deny/i.test(facts.message)) {
    causes.push('an explicit Deny (a service control policy, a permissions boundary, or a Deny in the role\'s trust policy) blocks the call');
  }
  if (action !== undefined && /^sts:(TagSession|SetSourceIdentity)$/i.test(action)) {
    causes.push(`the role's trust policy does not allow ${action} for the broker role (the broker tags every session and sets SourceIdentity): add the statement "BrokerTagsAndIdentifiesSessions" from \`npm run partner-policy -- ${ctx.partnerId}\``);
  }
  if (ctx.externalId) {
    causes.push(`the ExternalId in the config for partner ${ctx.partnerId} differs from the sts:ExternalId the role's trust policy requires (compare them; ExternalIds are case-sensitive)`);
  } else {
    causes.push(`the role's trust policy requires an sts:ExternalId, and the config has none for partner ${ctx.partnerId}: ask the partner for it and set partners.${ctx.partnerId}.externalId`);
  }
  causes.push(
    `the role's trust policy does not name the broker's execution role as Principal (or doctor is not running as that role: see docs/doctor.md)`,
    `the role ${ctx.roleArn} does not exist (AWS answers AccessDenied for a missing role too)`,
  );
  if (action === undefined || /^sts:AssumeRole$/i.test(action)) {
    causes.push('the trust policy\'s conditions (aws:RequestTag/partner, sts:SourceIdentity, sts:RoleSessionName) do not match the broker\'s session tags and name');
  }
  const what = action === undefined ? 'AccessDenied' : `AccessDenied on ${action}`;
  return fail(`the partner's role could not be assumed: ${what}; this is what callers see as 502 partner_role_not_assumable`, causes);
}

/** The S3 actions behind each probe, for the messages. */
const PROBE_ACTIONS: Record<string, string> = {
  list: 's3:ListBucket', read: 's3:GetObject', write: 's3:PutObject', delete: 's3:DeleteObject',
  cors: 's3:GetBucketCORS', lifecycle: 's3:GetLifecycleConfiguration', 'bucket-policy': 's3:GetBucketPolicy',
};

export interface S3ProbeContext {
  check: 'list' | 'read' | 'write' | 'delete';
  clientId: string;
  prefix: string;
  bucket: string;
  roleArn: string;
  partition: string;
}

/** A failed object probe, decoded: names the client, the prefix and the S3 action the role lacks. */
export function diagnoseS3(facts: AwsErrorFacts, ctx: S3ProbeContext): Finding {
  const action = PROBE_ACTIONS[ctx.check]!;
  const resource = ctx.check === 'list' ? `arn:${ctx.partition}:s3:::${ctx.bucket} (s3:prefix "${ctx.prefix}")` : `arn:${ctx.partition}:s3:::${ctx.bucket}/${ctx.prefix}*`;
  const base = { check: ctx.check, status: 'fail' as const, client: ctx.clientId, prefix: ctx.prefix };
  if (isNetwork(facts)) return { ...base, message: `S3 could not be reached (${errorLabel(facts)})`, causes: ['the S3 endpoint (region, BROKER_S3_ENDPOINT or the partner\'s s3Endpoint) is wrong or unreachable from here'] };
  if (facts.name === 'NoSuchBucket') return { ...base, message: `bucket ${ctx.bucket} does not exist (${errorLabel(facts)})`, causes: [`check partners.<partner>.bucket and region in the config`] };
  if (facts.name === 'AccessDenied' || facts.status === 403) {
    const causes: string[] = [];
    if (/kms/i.test(facts.message)) causes.push('the bucket\'s default encryption uses a KMS key the role may not use (kms:GenerateDataKey / kms:Decrypt in the key policy)');
    causes.push(
      `the role's permission policy does not allow ${action} on ${resource}: client ${ctx.clientId}'s prefix "${ctx.prefix}" is missing from it (rerun \`npm run partner-policy\` and apply permissions.json)`,
      `a Deny in the bucket policy, a permissions boundary or a service control policy covers ${action} on "${ctx.prefix}"`,
    );
    return { ...base, message: `client ${ctx.clientId} cannot ${ctx.check} under "${ctx.prefix}": ${action} denied (${errorLabel(facts)})`, causes };
  }
  return { ...base, message: `client ${ctx.clientId}: ${action} under "${ctx.prefix}" failed (${errorLabel(facts)})`, causes: [] };
}

/** A bucket-setting read that failed: AccessDenied is "not checked" (the optional statement is absent), anything else a failure. */
export function bucketReadFinding(check: 'cors' | 'lifecycle' | 'bucket-policy', facts: AwsErrorFacts): Finding {
  if (facts.name === 'AccessDenied' || facts.status === 403) {
    return { check, status: 'skip', message: `not checked: the role may not read it (${PROBE_ACTIONS[check]}); add the optional statement doctor prints` };
  }
  if (facts.name === 'NotImplemented' || facts.status === 501) return { check, status: 'skip', message: `not checked: the S3 endpoint does not implement it (${errorLabel(facts)})` };
  return { check, status: 'fail', message: `reading the bucket's ${check} failed (${errorLabel(facts)})`, causes: isNetwork(facts) ? ['S3 could not be reached'] : [] };
}

// ---- CORS --------------------------------------------------------------------------------------

export interface CorsRule {
  AllowedOrigins?: string[] | undefined;
  AllowedMethods?: string[] | undefined;
  AllowedHeaders?: string[] | undefined;
  ExposeHeaders?: string[] | undefined;
}

/** S3's origin match: exact, or one `*` wildcard standing for any characters. */
export function corsOriginMatches(pattern: string, origin: string): boolean {
  if (!pattern.includes('*')) return pattern === origin;
  const [head, ...rest] = pattern.split('*');
  const tail = rest.join('*');
  return origin.length >= head!.length + tail.length && origin.startsWith(head!) && origin.endsWith(tail);
}

function headerAllowed(rule: CorsRule, header: string): boolean {
  return (rule.AllowedHeaders ?? []).some((h) => corsOriginMatches(h.toLowerCase(), header));
}

/**
 * The bucket's CORS rules (`undefined`: the bucket has none) against each checked client's origins:
 * a browser client that reads needs GET, one that writes needs PUT with the content-type header
 * (a fail when missing); POST (form uploads) and an exposed ETag (multipart) are warnings.
 */
export function corsFindings(rules: CorsRule[] | undefined, clients: Record<string, Client>): Finding[] {
  const findings: Finding[] = [];
  const browserClients = Object.entries(clients).filter(([, c]) => c.cors.origins.length > 0);
  if (browserClients.length === 0) return [{ check: 'cors', status: 'ok', message: 'no checked client has browser origins: the bucket needs no CORS rule for them' }];
  for (const [clientId, client] of browserClients) {
    const missing: string[] = [];
    const warnings: string[] = [];
    for (const origin of client.cors.origins) {
      const matching = (rules ?? []).filter((r) => (r.AllowedOrigins ?? []).some((p) => corsOriginMatches(p, origin)));
      const allows = (method: string, header?: string) => matching.some((r) => (r.AllowedMethods ?? []).includes(method) && (header === undefined || headerAllowed(r, header)));
      if (client.actions.includes('read') && !allows('GET')) missing.push(`GET from ${origin}`);
      if (client.actions.includes('write')) {
        if (!allows('PUT', 'content-type')) missing.push(`PUT with header content-type from ${origin}`);
        if (!allows('POST')) warnings.push(`POST (form uploads) from ${origin}`);
        if (!matching.some((r) => (r.ExposeHeaders ?? []).some((h) => h.toLowerCase() === 'etag'))) warnings.push(`ExposeHeaders ETag (multipart uploads) for ${origin}`);
      }
    }
    const fix = `apply cors.json from \`npm run partner-policy\` (merged with the bucket's own rules)`;
    if (missing.length > 0) {
      findings.push({
        check: 'cors', status: 'fail', client: clientId,
        message: `${rules === undefined ? 'the bucket has no CORS configuration' : 'the bucket\'s CORS rules do not allow'}: ${missing.join('; ')}`,
        causes: [`browsers at these origins cannot ${client.actions.includes('write') ? 'upload or ' : ''}download with presigned URLs: ${fix}`],
      });
    } else if (warnings.length > 0) {
      findings.push({ check: 'cors', status: 'warn', client: clientId, message: `the bucket's CORS rules lack ${warnings.join('; ')}`, causes: [fix] });
    } else {
      findings.push({ check: 'cors', status: 'ok', client: clientId, message: `the bucket's CORS rules allow ${client.cors.origins.join(', ')}` });
    }
  }
  return findings;
}

// ---- lifecycle ---------------------------------------------------------------------------------

export interface LifecycleRule {
  ID?: string | undefined;
  Status?: string | undefined;
  Prefix?: string | undefined;
  Filter?: { Prefix?: string | undefined; Tag?: unknown; And?: { Prefix?: string | undefined; Tags?: unknown[] | undefined } | undefined } | undefined;
  AbortIncompleteMultipartUpload?: { DaysAfterInitiation?: number | undefined } | undefined;
}

/** The prefix an abort rule covers, or undefined when it cannot cover uploads (disabled, filtered by tags, no abort action). */
function abortRulePrefix(rule: LifecycleRule): string | undefined {
  if (rule.Status !== 'Enabled' || rule.AbortIncompleteMultipartUpload?.DaysAfterInitiation === undefined) return undefined;
  // Multipart uploads carry no tags, so a tag-filtered rule never aborts one.
  if (rule.Filter?.Tag !== undefined || (rule.Filter?.And?.Tags?.length ?? 0) > 0) return undefined;
  return rule.Filter?.Prefix ?? rule.Filter?.And?.Prefix ?? rule.Prefix ?? '';
}

/**
 * Each prefix a writing client uploads to needs an enabled lifecycle rule that aborts incomplete
 * multipart uploads (`undefined` rules: the bucket has none). Missing is a warning: uploads still
 * work, but abandoned parts are stored, and billed, until someone aborts them.
 */
export function lifecycleFindings(rules: LifecycleRule[] | undefined, partner: Partner, clientIds: string[]): Finding[] {
  const writers = clientIds.filter((id) => partner.clients[id]!.actions.includes('write'));
  if (writers.length === 0) return [{ check: 'lifecycle', status: 'ok', message: 'no checked client writes: no multipart uploads to abort' }];
  const subset: Partner = { ...partner, clients: Object.fromEntries(writers.map((id) => [id, partner.clients[id]!])) };
  const covered: string[] = [];
  const uncovered: string[] = [];
  for (const prefix of rolePrefixes(subset)) {
    const rule = (rules ?? []).find((r) => { const p = abortRulePrefix(r); return p !== undefined && prefix.startsWith(p); });
    if (rule === undefined) uncovered.push(prefix);
    else covered.push(`"${prefix}" by rule ${JSON.stringify(rule.ID ?? '(no ID)')} after ${rule.AbortIncompleteMultipartUpload!.DaysAfterInitiation} day(s)`);
  }
  if (uncovered.length === 0) return [{ check: 'lifecycle', status: 'ok', message: `incomplete multipart uploads are aborted under ${covered.join(', ')}` }];
  return [{
    check: 'lifecycle', status: 'warn',
    message: `${rules === undefined ? 'the bucket has no lifecycle configuration' : 'no enabled lifecycle rule aborts incomplete multipart uploads'} under ${uncovered.map((p) => `"${p}"`).join(', ')}`,
    causes: ['abandoned multipart uploads stay stored (and billed) until aborted: apply lifecycle.json from `npm run partner-policy` (merged with the bucket\'s own rules)'],
  }];
}

// ---- bucket policy -----------------------------------------------------------------------------

interface PolicyStatement { Sid?: string; Effect?: string; Action?: string | string[]; Resource?: string | string[]; Condition?: unknown }

/**
 * The bucket policy (`undefined`: none) read for what can refuse the broker: Deny statements on
 * `s3:*Object`-like actions whose resource reaches a checked prefix. Conditional Denies (say
 * aws:SecureTransport false) are listed as information; an unconditional one is a warning, since
 * the object probes above show whether it bites.
 */
export function bucketPolicyFindings(policyJson: string | undefined, bucket: string, prefixes: string[]): Finding[] {
  if (policyJson === undefined) return [{ check: 'bucket-policy', status: 'ok', message: 'the bucket has no bucket policy' }];
  let statements: PolicyStatement[];
  try {
    const doc = JSON.parse(policyJson) as { Statement?: PolicyStatement | PolicyStatement[] };
    statements = doc.Statement === undefined ? [] : [doc.Statement].flat();
  } catch {
    return [{ check: 'bucket-policy', status: 'warn', message: 'the bucket policy is not valid JSON as read', causes: [] }];
  }
  const reaches = (resource: string) => {
    const m = /^arn:[^:]*:s3:::([^/]+)(?:\/(.*))?$/.exec(resource);
    if (m === null || !corsOriginMatches(m[1]!, bucket) || m[2] === undefined) return false;
    const pattern = m[2];
    const fixed = pattern.split(/[*?]/)[0]!;
    return prefixes.some((p) => p.startsWith(fixed) || fixed.startsWith(p));
  };
  const denies = statements.filter((s) => s.Effect === 'Deny' && [s.Resource ?? []].flat().some(reaches));
  if (denies.length === 0) return [{ check: 'bucket-policy', status: 'ok', message: `the bucket policy (${statements.length} statement(s)) has no Deny reaching ${prefixes.map((p) => `"${p}"`).join(', ')}` }];
  const name = (s: PolicyStatement, i: number) => (s.Sid ? JSON.stringify(s.Sid) : `#${i + 1}`);
  const unconditional = denies.filter((s) => s.Condition === undefined);
  return [{
    check: 'bucket-policy',
    status: unconditional.length > 0 ? 'warn' : 'ok',
    message: `the bucket policy has Deny statements reaching the broker's prefixes: ${denies.map((s, i) => `${name(s, i)}${s.Condition === undefined ? ' (unconditional)' : ' (conditional)'}`).join(', ')}`,
    causes: unconditional.length > 0 ? ['an unconditional Deny overrides the role\'s Allow: the object checks above show which actions it refuses'] : [],
  }];
}

// ---- the report --------------------------------------------------------------------------------

export function summarise(base: Omit<DoctorReport, 'result' | 'exitCode'>): DoctorReport {
  const failed = base.findings.some((f) => f.status === 'fail');
  const warned = base.findings.some((f) => f.status === 'warn');
  return { ...base, result: failed ? 'failed' : warned ? 'warnings' : 'ok', exitCode: failed ? DOCTOR_EXIT.failed : DOCTOR_EXIT.ok };
}

const LABEL: Record<CheckStatus, string> = { ok: 'OK  ', warn: 'WARN', fail: 'FAIL', skip: 'SKIP' };

/** The human report: one line per finding, causes under failures, counts, and the optional statement when a read was denied. */
export function renderReport(report: DoctorReport): string {
  const lines = [
    `doctor: partner ${report.partner}: role ${report.roleArn}, bucket ${report.bucket} (${report.region}), clients ${report.clients.join(', ')}`,
    '',
  ];
  const who = (f: Finding) => (f.client === undefined ? '(partner)' : f.client);
  const width = Math.max(9, ...report.findings.map((f) => who(f).length)) + 1;
  const checkWidth = Math.max(...report.findings.map((f) => f.check.length), 5) + 1;
  for (const f of report.findings) {
    lines.push(`  ${LABEL[f.status]}  ${who(f).padEnd(width)} ${f.check.padEnd(checkWidth)} ${f.message}`);
    for (const cause of f.causes ?? []) lines.push(`${' '.repeat(10 + width + checkWidth)}- ${cause}`);
  }
  const count = (s: CheckStatus) => report.findings.filter((f) => f.status === s).length;
  lines.push('', `result: ${report.result} (${count('fail')} failed, ${count('warn')} warnings, ${count('ok')} OK, ${count('skip')} not checked); exit ${report.exitCode}`);
  if (report.findings.some((f) => f.status === 'skip' && /optional statement/.test(f.message))) {
    lines.push(
      '',
      'To let doctor read the bucket\'s CORS, lifecycle and policy, the partner may add this statement to the role\'s',
      'permission policy (the broker itself never needs it):',
      '',
      ...JSON.stringify(diagnosticStatement({ roleArn: report.roleArn, bucket: report.bucket }), null, 2).split('\n').map((l) => `  ${l}`),
    );
  }
  return `${lines.join('\n')}\n`;
}
