/**
 * `npm run doctor`: the AWS half. Really assumes the partner's role the way the broker does
 * (ExternalId, SourceIdentity, session tags, a session policy: never the whole role), then probes
 * what each client's grant needs: ListObjectsV2 (MaxKeys=1) on its prefix, a read, and a test
 * object that follows the client's upload contract, written and deleted only where the grant
 * allows both. A separate session, whose policy holds only the three bucket reads, reads CORS,
 * lifecycle and bucket policy. What the answers mean is decided in rules/partnerDiagnosis.ts.
 */
import {
  DeleteObjectCommand, GetBucketCorsCommand, GetBucketLifecycleConfigurationCommand, GetBucketPolicyCommand,
  GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
import { randomBytes } from 'node:crypto';
import { BrokerError } from '../../domain/errors.js';
import type { AssumeRoleRequest, Partner, TemporaryCredentials } from '../../domain/model.js';
import {
  bucketPolicyFindings, bucketReadFinding, clientPlan, corsFindings, diagnoseAssumeRole, diagnoseS3,
  diagnosticSessionPolicy, doctorIdentity, errorLabel, lifecycleFindings, summarise,
  type AwsErrorFacts, type ClientPlan, type DoctorReport, type Finding,
} from '../../rules/partnerDiagnosis.js';
import { MIN_SESSION_SECONDS } from '../../rules/limits.js';
import { partitionOf } from '../../rules/partition.js';
import { buildSessionPolicy } from '../../rules/sessionPolicy.js';
import { readFacts } from './stsErrors.js';
import { StsCredentialIssuer } from './sts.js';

export interface ProbeOptions {
  /** STS / S3 endpoint overrides (BROKER_STS_ENDPOINT / BROKER_S3_ENDPOINT); else the partner's own, else the SDK default. */
  stsEndpoint?: string | undefined;
  s3Endpoint?: string | undefined;
  /** doctor's own credentials (the broker's execution role); the SDK's default chain when absent. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
  /** Per-attempt bound on connecting and waiting; default 5000 ms. */
  timeoutMs?: number;
  /** Names the test object uniquely; random by default (tests pin it). */
  uniqueSuffix?: string;
}

type Outcome<T> = { ok: true; value: T } | { ok: false; facts: AwsErrorFacts };

/** Runs one call; any error becomes its facts (code, status, message), never a throw. */
async function attempt<T>(call: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await call() };
  } catch (err) {
    // The STS adapter wraps every failure in a BrokerError; the SDK's own error is its cause.
    const raw = err instanceof BrokerError && err.cause !== undefined ? err.cause : err;
    const facts = readFacts(raw);
    return { ok: false, facts: { name: facts.name, status: facts.status, message: facts.message, codes: facts.codes } };
  }
}

/** Checks one partner's setup (all its clients, or `clientIds`), as the broker would use it. */
export async function diagnosePartner(partnerId: string, partner: Partner, clientIds: string[], options: ProbeOptions = {}): Promise<DoctorReport> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const stsEndpoint = options.stsEndpoint ?? partner.stsEndpoint;
  const s3Endpoint = options.s3Endpoint ?? partner.s3Endpoint;
  const suffix = options.uniqueSuffix ?? `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const issuer = new StsCredentialIssuer({
    timeoutMs,
    // AccessDenied is never retried; two attempts ride out one transient failure.
    maxAttempts: 2,
    clientFor: (region, endpoint) => new STSClient({
      region,
      ...(endpoint === undefined ? {} : { endpoint }),
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      maxAttempts: 2,
      retryMode: 'standard',
      requestHandler: { connectionTimeout: timeoutMs, requestTimeout: timeoutMs, throwOnRequestTimeout: true },
    }),
  });
  const findings: Finding[] = [];
  // Checked all the same (to re-enable with confidence), but say why callers are refused today.
  if (partner.disabled === true) findings.push({ check: 'config', status: 'warn', message: `partner ${partnerId} is disabled: the broker issues nothing to its clients` });
  for (const id of clientIds) {
    if (partner.clients[id]!.disabled === true) findings.push({ check: 'config', status: 'warn', client: id, message: `client ${id} is disabled: the broker issues nothing to it` });
  }
  const base = { partner: partnerId, roleArn: partner.roleArn, bucket: partner.bucket, region: partner.region, clients: clientIds };

  const assume = (policy: string, identity: ReturnType<typeof doctorIdentity>, durationSeconds: number) => {
    const request: AssumeRoleRequest = {
      partnerId,
      roleArn: partner.roleArn,
      roleSessionName: identity.roleSessionName,
      sourceIdentity: identity.sourceIdentity,
      ...(partner.externalId === undefined ? {} : { externalId: partner.externalId }),
      policy,
      durationSeconds,
      tags: identity.tags,
      region: partner.region,
      ...(stsEndpoint === undefined ? {} : { stsEndpoint }),
    };
    return attempt(() => issuer.assumeRole(request));
  };
  const s3 = (credentials: TemporaryCredentials) => new S3Client({
    region: partner.region,
    ...(s3Endpoint === undefined ? {} : { endpoint: s3Endpoint }),
    forcePathStyle: s3Endpoint !== undefined,
    credentials,
    // The local gateway refuses flexible checksums on streaming PUTs (411); real S3 accepts either.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 2,
    requestHandler: { connectionTimeout: timeoutMs, requestTimeout: timeoutMs, throwOnRequestTimeout: true },
  });

  // 1. Trust: the partner-wide session, as short as STS allows; each client's own session below asks
  // for that client's length, so a MaxSessionDuration too short for one client is reported on that client.
  const partnerSeconds = MIN_SESSION_SECONDS;
  const trust = await assume(diagnosticSessionPolicy(partner), doctorIdentity(partnerId), partnerSeconds);
  if (!trust.ok) {
    findings.push(diagnoseAssumeRole(trust.facts, { partnerId, roleArn: partner.roleArn, externalId: partner.externalId !== undefined, durationSeconds: partnerSeconds }));
    return summarise({ ...base, findings });
  }
  findings.push({
    check: 'trust', status: 'ok',
    message: `assumed the role with ${partner.externalId === undefined ? '' : 'the ExternalId, '}SourceIdentity and session tags, for ${partnerSeconds} s`,
  });

  // 2. Per client: its own session (its grant prefix and actions, its session length), then the probes.
  for (const clientId of clientIds) {
    const plan = clientPlan(partner, clientId, suffix);
    let policy: string;
    try {
      policy = buildSessionPolicy({ partition: partitionOf(partner.roleArn), bucket: partner.bucket, prefix: plan.prefix, actions: plan.actions });
    } catch (err) {
      // The broker would refuse this client's every request the same way (a prefix too long for STS, say).
      findings.push({ check: 'session', status: 'fail', client: clientId, prefix: plan.prefix, message: `no session policy can be built: ${(err as Error).message}`, causes: [] });
      continue;
    }
    const session = await assume(policy, doctorIdentity(partnerId, clientId), plan.durationSeconds);
    if (!session.ok) {
      const finding = diagnoseAssumeRole(session.facts, { partnerId, roleArn: partner.roleArn, externalId: partner.externalId !== undefined, durationSeconds: plan.durationSeconds });
      findings.push({ ...finding, check: 'session', client: clientId, prefix: plan.prefix });
      continue;
    }
    const client = s3(session.value);
    try {
      findings.push(...await probeClient(client, partner, plan));
    } finally {
      client.destroy();
    }
  }

  // 3. The bucket's settings, with the partner-wide session (its policy: the three reads only).
  const bucketClient = s3(trust.value);
  try {
    const partnerClients = Object.fromEntries(clientIds.map((id) => [id, partner.clients[id]!]));
    const Bucket = partner.bucket;
    const cors = await attempt(() => bucketClient.send(new GetBucketCorsCommand({ Bucket })));
    if (cors.ok) findings.push(...corsFindings(cors.value.CORSRules ?? [], partnerClients));
    else if (cors.facts.name === 'NoSuchCORSConfiguration') findings.push(...corsFindings(undefined, partnerClients));
    else findings.push(bucketReadFinding('cors', cors.facts));

    const lifecycle = await attempt(() => bucketClient.send(new GetBucketLifecycleConfigurationCommand({ Bucket })));
    if (lifecycle.ok) findings.push(...lifecycleFindings(lifecycle.value.Rules ?? [], partner, clientIds));
    else if (lifecycle.facts.name === 'NoSuchLifecycleConfiguration') findings.push(...lifecycleFindings(undefined, partner, clientIds));
    else findings.push(bucketReadFinding('lifecycle', lifecycle.facts));

    const prefixes = clientIds.map((id) => clientPlan(partner, id, suffix).prefix);
    const policy = await attempt(() => bucketClient.send(new GetBucketPolicyCommand({ Bucket })));
    if (policy.ok) findings.push(...bucketPolicyFindings(policy.value.Policy, partner.bucket, prefixes));
    else if (policy.facts.name === 'NoSuchBucketPolicy') findings.push(...bucketPolicyFindings(undefined, partner.bucket, prefixes));
    else findings.push(bucketReadFinding('bucket-policy', policy.facts));
  } finally {
    bucketClient.destroy();
  }
  return summarise({ ...base, findings });
}

/** list, read, write and delete, each only where the grant has the action. */
async function probeClient(client: S3Client, partner: Partner, plan: ClientPlan): Promise<Finding[]> {
  const findings: Finding[] = [];
  const Bucket = partner.bucket;
  const where = { client: plan.clientId, prefix: plan.prefix };
  const ctx = { clientId: plan.clientId, prefix: plan.prefix, bucket: Bucket, roleArn: partner.roleArn, partition: partitionOf(partner.roleArn) };
  const fail = (check: 'list' | 'read' | 'write' | 'delete', facts: AwsErrorFacts) => findings.push(diagnoseS3(facts, { ...ctx, check }));
  let listedKey: string | undefined;
  let listAllowed = false;

  if (plan.actions.includes('list')) {
    const listed = await attempt(() => client.send(new ListObjectsV2Command({ Bucket, Prefix: plan.prefix, MaxKeys: 1 })));
    if (listed.ok) {
      listAllowed = true;
      listedKey = listed.value.Contents?.[0]?.Key;
      findings.push({ check: 'list', status: 'ok', ...where, message: `ListObjectsV2 MaxKeys=1 under "${plan.prefix}" (${listedKey === undefined ? 'empty' : 'not empty'})` });
    } else {
      fail('list', listed.facts);
    }
  }

  let wrote = false;
  if (plan.actions.includes('write')) {
    if (plan.probe === undefined) {
      findings.push({ check: 'write', status: 'skip', ...where, message: `not checked: ${plan.noProbeReason ?? 'no test object'}` });
    } else {
      const Key = plan.prefix + plan.probe.relativeKey;
      const put = await attempt(() => client.send(new PutObjectCommand({
        Bucket, Key, Body: plan.probe!.body, ContentType: plan.probe!.contentType, ContentLength: plan.probe!.body.length,
      })));
      if (put.ok) {
        wrote = true;
        findings.push({ check: 'write', status: 'ok', ...where, message: `PutObject of a ${plan.probe.body.length}-byte ${plan.probe.contentType} test object (the client's upload contract)` });
      } else {
        fail('write', put.facts);
      }
    }
  }

  if (plan.actions.includes('read')) {
    // Read back the test object, else the object the listing found; with neither, a missing key's
    // answer is ambiguous on AWS (403 without s3:ListBucket), so only a 404 counts as allowed.
    const key = wrote ? plan.prefix + plan.probe!.relativeKey : listedKey;
    if (key !== undefined) {
      const read = wrote
        ? await attempt(async () => {
          const got = await client.send(new GetObjectCommand({ Bucket, Key: key }));
          return Buffer.from(await got.Body!.transformToByteArray());
        })
        : await attempt(() => client.send(new HeadObjectCommand({ Bucket, Key: key })).then(() => undefined));
      if (!read.ok) fail('read', read.facts);
      else if (read.value !== undefined && !read.value.equals(plan.probe!.body)) {
        findings.push({ check: 'read', status: 'fail', ...where, message: 'the test object read back differs from what was written', causes: ['something rewrites objects under this prefix'] });
      } else {
        findings.push({ check: 'read', status: 'ok', ...where, message: wrote ? 'GetObject of the test object returned its bytes' : 'HeadObject of an object the listing found' });
      }
    } else {
      const missing = await attempt(() => client.send(new HeadObjectCommand({ Bucket, Key: `${plan.prefix}${DOCTOR_MISSING_KEY}` })));
      if (!missing.ok && (missing.facts.name === 'NotFound' || missing.facts.name === 'NoSuchKey' || missing.facts.status === 404)) {
        findings.push({ check: 'read', status: 'ok', ...where, message: 'HeadObject of a missing key answered 404 (allowed, nothing there)' });
      } else if (!missing.ok && missing.facts.status === 403 && !listAllowed) {
        // Only a caller that may list gets 404 for a missing key; without that, 403 says nothing about reading.
        findings.push({ check: 'read', status: 'skip', ...where, message: 'not checked: no object to read, and without a working list S3 answers 403 for a missing key whether or not reading is allowed' });
      } else if (!missing.ok) {
        fail('read', missing.facts);
      } else {
        findings.push({ check: 'read', status: 'ok', ...where, message: 'HeadObject allowed' });
      }
    }
  }

  if (plan.actions.includes('delete')) {
    if (!wrote) {
      findings.push({ check: 'delete', status: 'skip', ...where, message: 'not checked: doctor deletes only its own test object, and none was written' });
    } else {
      const Key = plan.prefix + plan.probe!.relativeKey;
      const deleted = await attempt(() => client.send(new DeleteObjectCommand({ Bucket, Key })));
      if (deleted.ok) findings.push({ check: 'delete', status: 'ok', ...where, message: 'DeleteObject of the test object' });
      else {
        fail('delete', deleted.facts);
        findings.push({ check: 'delete', status: 'warn', ...where, message: `the test object ${JSON.stringify(Key)} is left in the bucket (${errorLabel(deleted.facts)}): delete it by hand` });
      }
    }
  }
  return findings;
}

/** A key no one writes: the read probe's last resort when the prefix is empty and nothing was written. */
const DOCTOR_MISSING_KEY = 'sts-broker-doctor-missing-key-probe';
