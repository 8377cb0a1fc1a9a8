/**
 * The broker's configuration schema (docs/architecture.md describes the config). Every object is
 * strict: an unknown key is an error that names the field, because a silently ignored typo in a
 * security config is a hole. Cross-field rules that zod cannot express per field live in
 * ./crossChecks.ts (https-only endpoints, CORS origins) and, for the rules any grant store must
 * keep (unique keys, one client per issuer and audience, ${sub} folders), ../rules/storeInvariants.ts.
 */
import * as z from 'zod';
import { ACTIONS } from '../domain/actions.js';
import { JWT_ALGORITHMS } from '../domain/model.js';
import { API_KEY_ID, IAM_SPECIAL, NAME, NAME_RULE } from '../rules/identifiers.js';
import { MAX_CHAINED_SESSION_SECONDS, MIN_SESSION_SECONDS } from '../rules/limits.js';
import {
  KMS_KEY_ARN, MAX_CONTRACT_METADATA, MAX_CONTRACT_TAGS, METADATA_KEY, metadataValueProblem, TAG_KEY, tagValueProblem,
} from '../rules/uploadContract.js';

/** IAM role ARN; the account may be empty for the local gateway (`arn:aws:iam:::role/x`). */
export const ROLE_ARN = /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12})?:role\/[\w+=,.@/-]{1,512}$/;
/** S3 bucket names (the general-purpose rules, without dots-in-a-row). */
const BUCKET = /^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** ExternalId: 2–1224 of `[\w+=,.@:/-]` (STS). */
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

const endpointUrl = z.url({ protocol: /^https?$/ }).describe('absolute http(s) URL');

const apiKeyEntry = z.strictObject({
  /** Lookup id: the `<id>` in `sbk_<id>_<secret>`. */
  id: z.string().regex(API_KEY_ID, 'must be 1–32 letters or digits'),
  /** SHA-256 (hex) of the whole key string. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters'),
  expires: z.coerce.date().optional(),
  disabled: z.boolean().optional(),
});

const jwtClient = z.strictObject({
  issuer: z.string().min(1),
  /** Explicit `null` opts out of the audience check (secure by default: omitted is an error). */
  audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1), z.null()]),
  jwksUri: z.string().optional(),
  algorithms: z.array(z.enum(JWT_ALGORITHMS)).min(1),
  /** Which claim names the subject; `sub` unless the issuer says otherwise. */
  subjectClaim: z.string().min(1).default('sub'),
  /** Require this JOSE `typ` header (e.g. `at+jwt` for OAuth access tokens, RFC 9068); any when omitted. */
  requireTyp: z.string().min(1).optional(),
  /** Refuse tokens whose `iat` is older than this many seconds (and tokens without `iat`); no limit when omitted. */
  maxTokenAgeSeconds: z.number().int().positive().max(7 * 24 * 3600).optional(),
});

const prefix = z.string()
  .min(1)
  .refine((p) => p.endsWith('/'), 'must end with "/"')
  .refine((p) => !p.startsWith('/'), 'must not start with "/"')
  .refine((p) => !IAM_SPECIAL.test(p.replaceAll('${sub}', '')),
    'must not contain "*", "?" or "$" (IAM wildcards and variables); only the ${sub} template is allowed');

/** A refinement that reports the rule function's own message. */
function valueRule(problem: (v: string) => string | undefined) {
  return (v: string, ctx: z.core.$RefinementCtx<string>) => {
    const message = problem(v);
    if (message !== undefined) ctx.addIssue({ code: 'custom', message });
  };
}

/**
 * The upload contract (docs/upload-contracts.md): what S3 itself holds every upload of the client
 * to. Absent: uploads are exactly as before (type and size bound, nothing else).
 */
const uploadContract = z.strictObject({
  integrity: z.enum(['md5', 'sha256', 'crc32c', 'none']).default('none'),
  overwrite: z.boolean().default(true),
  tags: z.record(z.string().regex(TAG_KEY, 'must be 1–128 of letters, digits, spaces, _ . : / = + - @, not starting with "aws:"'),
    z.string().superRefine(valueRule(tagValueProblem)))
    .refine((r) => Object.keys(r).length <= MAX_CONTRACT_TAGS, `at most ${MAX_CONTRACT_TAGS} tags (S3's limit per object)`)
    .default({}),
  metadata: z.record(z.string().regex(METADATA_KEY, 'must be 1–64 of lowercase letters, digits and "-", starting with a letter or digit'),
    z.string().superRefine(valueRule(metadataValueProblem)))
    .refine((r) => Object.keys(r).length <= MAX_CONTRACT_METADATA, `at most ${MAX_CONTRACT_METADATA} metadata entries`)
    .default({}),
  encryption: z.discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('aws:kms'),
      keyId: z.string().regex(KMS_KEY_ARN, 'must be a full KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>): S3 and IAM compare that form'),
    }),
    z.strictObject({ type: z.literal('AES256') }),
  ]).optional(),
});

const client = z.strictObject({
  apiKeys: z.array(apiKeyEntry).min(1).optional(),
  jwt: jwtClient.optional(),
  prefix,
  actions: z.array(z.enum(ACTIONS)).min(1),
  maxUploadBytes: z.number().int().positive().max(5 * 1024 ** 4),
  contentTypes: z.array(z.string().regex(/^[\w.+-]+\/[\w.+-]+$/, 'must be a media type like image/png')).min(1),
  /** Browser origins allowed to call the broker: exactly scheme://host[:port], https (see crossChecks.ts). */
  cors: z.strictObject({ origins: z.array(z.string()).default([]) }).default({ origins: [] }),
  /**
   * Allow raw credentials (POST /v1/credentials and its process/container forms) that can write.
   * IAM has no condition key for object size or Content-Type, so such credentials escape
   * maxUploadBytes and contentTypes: off unless the operator opts in.
   */
  rawWriteCredentials: z.boolean().optional(),
  /**
   * Raw-credential vends allowed per broker container (every vend is one AssumeRole, from an
   * account-wide STS budget): `burst` at once, refilled at `perSecond`. Default 10 and 2.
   */
  vendRate: z.strictObject({
    burst: z.number().int().min(1).max(1000),
    perSecond: z.number().positive().max(1000),
  }).optional(),
  /**
   * Other clients of this partner (same JWT issuer, subject claim and prefix template) whose
   * `${sub}` folders are deliberately the same as this client's (say a web and a mobile audience of
   * one user base). Both clients must name each other. Without it two clients never share a
   * subject's folder: the config is refused (./subjectFolders.ts).
   */
  sharesSubjectFoldersWith: z.array(z.string().regex(NAME, `client names are ${NAME_RULE}`)).optional(),
  /** Per-client cap on credential lifetime; defaults to the partner's. */
  maxDurationSeconds: z.number().int().min(MIN_SESSION_SECONDS).max(MAX_CHAINED_SESSION_SECONDS).optional(),
  /** Nothing is issued to a disabled client (`admin client disable`). */
  disabled: z.boolean().optional(),
  /** What S3 itself holds every upload of this client to: checksum, write-once, tags, metadata, encryption. */
  upload: uploadContract.optional(),
}).refine((c) => (c.apiKeys === undefined) !== (c.jwt === undefined), {
  message: 'a client has exactly one way in: either apiKeys or jwt',
});

const isoInstant = z.iso.datetime({ offset: false }).describe('ISO 8601 UTC instant, e.g. 2026-11-30T12:00:00Z');
const revocation = z.strictObject({
  target: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('partner') }),
    z.strictObject({ kind: z.literal('client'), clientId: z.string().regex(NAME, `client names are ${NAME_RULE}`) }),
    z.strictObject({ kind: z.literal('key'), clientId: z.string().regex(NAME, `client names are ${NAME_RULE}`), keyId: z.string().regex(API_KEY_ID, 'must be 1–32 letters or digits') }),
    z.strictObject({ kind: z.literal('subject'), clientId: z.string().regex(NAME, `client names are ${NAME_RULE}`), subject: z.string().min(1).max(1024) }),
  ]),
  at: isoInstant,
  active: z.boolean(),
  reason: z.string().max(1024).optional(),
  by: z.string().max(2048).optional(),
});

const partner = z.strictObject({
  roleArn: z.string().regex(ROLE_ARN, 'must be an IAM role ARN (arn:<partition>:iam::<account>:role/<name>)'),
  externalId: z.string().regex(EXTERNAL_ID, 'must be 2–1224 of [A-Za-z0-9_+=,.@:/-]').optional(),
  bucket: z.string().regex(BUCKET, 'must be a valid S3 bucket name'),
  region: z.string().regex(REGION, 'must be an AWS region like eu-west-1'),
  stsEndpoint: endpointUrl.optional(),
  s3Endpoint: endpointUrl.optional(),
  maxDurationSeconds: z.number().int().min(MIN_SESSION_SECONDS).max(MAX_CHAINED_SESSION_SECONDS).default(900),
  clients: z.record(z.string().regex(NAME, `client names are ${NAME_RULE}`), client)
    .refine((r) => Object.keys(r).length > 0, 'a partner needs at least one client'),
  /** Nothing is issued to any client of a disabled partner (`admin partner disable`). */
  disabled: z.boolean().optional(),
  /** Operator revocations (`admin revoke`), kept at least one maximum session lifetime after `at`. */
  revocations: z.array(revocation).max(1000).optional(),
});

export const configSchema = z.strictObject({
  /**
   * Allow plain http on loopback (127.0.0.0/8, localhost, [::1]) for JWT issuers and JWKS URIs,
   * STS and S3 endpoints (also BROKER_STS_ENDPOINT / BROKER_S3_ENDPOINT) and CORS origins: local
   * development only. Never http to any other host.
   */
  allowInsecureLoopbackHttp: z.boolean().default(false),
  partners: z.record(z.string().regex(NAME, `partner names are ${NAME_RULE}`), partner).default({}), // ≥ 1 with the yaml store: config/load.ts
});

export type BrokerConfig = z.infer<typeof configSchema>;
export type PartnerConfig = BrokerConfig['partners'][string];
export type ClientConfig = PartnerConfig['clients'][string];
export type JwtClientConfig = NonNullable<ClientConfig['jwt']>;
export type ApiKeyEntry = NonNullable<ClientConfig['apiKeys']>[number];

/** The pieces a grant store validates item by item (adapters/dynamo: one partner per item, one key per item). */
export const partnerSchema = partner;
export const clientSchema = client;
export const apiKeySchema = apiKeyEntry;
export const revocationSchema = revocation;
