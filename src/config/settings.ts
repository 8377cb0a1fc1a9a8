/**
 * Runtime settings from the environment, read once at cold start and validated like the config:
 * a bad value stops the broker with the variable named. Adapters receive these as options and
 * never read process.env themselves.
 */
import * as z from 'zod';
import { ConfigError } from '../domain/errors.js';
import { endpointProblem } from '../rules/loopback.js';

const int = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);
/**
 * An endpoint override: an absolute URL, and never plain http to a host off this machine (an STS
 * answer carries a secret key). Loopback http also needs the config's allowInsecureLoopbackHttp,
 * which the environment cannot see: `endpointOverrideIssues` checks that once the config is read.
 */
const endpoint = z.string()
  .superRefine((value, ctx) => {
    const problem = endpointProblem(value, true);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  })
  .optional();

/** The Powertools Logger levels; LOG_LEVEL is matched case-insensitively and stored upper-case. */
export const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const logLevel = z.string()
  .transform((v) => v.toUpperCase())
  .pipe(z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')} (any case)` }))
  .default('INFO');

/** Where grants come from: the YAML file bundled with the function, or the DynamoDB grant table (docs/grant-store.md). */
export const GRANT_STORES = ['yaml', 'dynamodb'] as const;
export type GrantStoreKind = (typeof GRANT_STORES)[number];
/** DynamoDB table names: 3–255 of [A-Za-z0-9_.-]. */
const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;

const settingsSchema = z.object({
  BROKER_CONFIG: z.string().min(1, 'must name the YAML config file'),
  /** Override every partner's STS / S3 endpoint (local AWS, or one VPC endpoint for all). */
  BROKER_STS_ENDPOINT: endpoint,
  BROKER_S3_ENDPOINT: endpoint,
  BROKER_STS_TIMEOUT_MS: int(100, 30000, 3000),
  BROKER_STS_MAX_ATTEMPTS: int(1, 5, 3),
  BROKER_JWKS_TIMEOUT_MS: int(100, 10000, 1500),
  BROKER_JWKS_MAX_BYTES: int(1024, 1048576, 65536),
  BROKER_SESSION_CACHE_ENTRIES: int(1, 100000, 500),
  BROKER_VERSION: z.string().default('dev'),
  /** The logger's level; an unknown value (`verbose`) stops the broker instead of silently logging at INFO. */
  LOG_LEVEL: logLevel,
  /** `yaml` (default: the partners in BROKER_CONFIG) or `dynamodb` (the table BROKER_GRANT_TABLE). */
  BROKER_GRANT_STORE: z.enum(GRANT_STORES, { error: `must be one of ${GRANT_STORES.join(', ')}` }).default('yaml'),
  BROKER_GRANT_TABLE: z.string().regex(TABLE_NAME, 'must be a DynamoDB table name (3–255 of A-Z a-z 0-9 _ . -)').optional(),
  /** Local DynamoDB (scripts/local-dynamodb) or a VPC endpoint; same rule as BROKER_STS_ENDPOINT. */
  BROKER_DYNAMODB_ENDPOINT: endpoint,
  /** A change (a revocation) reaches every warm container within this many seconds. */
  BROKER_GRANT_STORE_MAX_STALENESS_SECONDS: int(1, 300, 10),
  /** Grants cached per container (partners, key, issuer and origin answers), least recently used evicted. */
  BROKER_GRANT_CACHE_ENTRIES: int(1, 1000000, 20000),
  /** "No such key id / issuer / origin" answers cached per container: the bound on a flood of random ids. */
  BROKER_GRANT_NEGATIVE_CACHE_ENTRIES: int(1, 1000000, 10000),
  /** Per-attempt bound on a table read (connect and answer); the request deadline cuts it shorter. */
  BROKER_DYNAMODB_TIMEOUT_MS: int(100, 10000, 1000),
  /** Attempts per table read including the first (throttling and transient errors, jittered backoff). */
  BROKER_DYNAMODB_MAX_ATTEMPTS: int(1, 5, 2),
}).superRefine((s, ctx) => {
  if (s.BROKER_GRANT_STORE === 'dynamodb' && s.BROKER_GRANT_TABLE === undefined) {
    ctx.addIssue({ code: 'custom', path: ['BROKER_GRANT_TABLE'], message: 'required when BROKER_GRANT_STORE is dynamodb' });
  }
});

export type Settings = z.infer<typeof settingsSchema>;

/** Reads and validates the broker's environment variables. */
export function readSettings(env: Record<string, string | undefined> = process.env): Settings {
  // Without zod's JIT (see config/load.ts): the settings are parsed once per cold start.
  const parsed = settingsSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')), { jitless: true });
  if (parsed.success) return parsed.data;
  const fields = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  throw new ConfigError(`invalid environment: ${fields}`);
}

/** The endpoint override variables (the DynamoDB one optional for callers that predate it). */
export type EndpointOverrides = Pick<Settings, 'BROKER_STS_ENDPOINT' | 'BROKER_S3_ENDPOINT'> & Partial<Pick<Settings, 'BROKER_DYNAMODB_ENDPOINT'>>;

/**
 * The endpoint overrides checked against the config's allowInsecureLoopbackHttp (loopback http is
 * for local development only), as `VARIABLE: reason` lines; empty when both may be used.
 */
export function endpointOverrideIssues(settings: EndpointOverrides, allowInsecureLoopbackHttp: boolean): string[] {
  return (['BROKER_STS_ENDPOINT', 'BROKER_S3_ENDPOINT', 'BROKER_DYNAMODB_ENDPOINT'] as const).flatMap((name) => {
    const value = settings[name];
    const problem = value === undefined ? undefined : endpointProblem(value, allowInsecureLoopbackHttp);
    return problem === undefined ? [] : [`${name}: ${problem}`];
  });
}

/** Throws ConfigError naming each endpoint override the config does not allow. */
export function assertEndpointOverrides(settings: EndpointOverrides, allowInsecureLoopbackHttp: boolean, configSource: string): void {
  const issues = endpointOverrideIssues(settings, allowInsecureLoopbackHttp);
  if (issues.length > 0) {
    throw new ConfigError(`invalid environment: ${issues.join('; ')} (allowInsecureLoopbackHttp is ${allowInsecureLoopbackHttp} in ${configSource})`);
  }
}

/**
 * LOG_LEVEL for the logger, which exists before the settings are read (it logs the refusal when they
 * are invalid): the validated level, or INFO when unset or invalid (readSettings then refuses to start).
 */
export function loggerLogLevel(env: Record<string, string | undefined> = process.env): LogLevel {
  const parsed = logLevel.safeParse(env.LOG_LEVEL === '' ? undefined : env.LOG_LEVEL);
  return parsed.success ? parsed.data : 'INFO';
}
