/**
 * Runtime settings from the environment, read once at cold start and validated like the config:
 * a bad value stops the broker with the variable named. Adapters receive these as options and
 * never read process.env themselves.
 */
import * as z from 'zod';
import { ConfigError } from '../errors.js';

const int = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);
const url = z.url({ protocol: /^https?$/ }).optional();

const settingsSchema = z.object({
  BROKER_CONFIG: z.string().min(1, 'must name the YAML config file'),
  /** Override every partner's STS / S3 endpoint (local AWS, or one VPC endpoint for all). */
  BROKER_STS_ENDPOINT: url,
  BROKER_S3_ENDPOINT: url,
  BROKER_STS_TIMEOUT_MS: int(100, 30000, 3000),
  BROKER_STS_MAX_ATTEMPTS: int(1, 5, 3),
  BROKER_JWKS_TIMEOUT_MS: int(100, 10000, 1500),
  BROKER_JWKS_MAX_BYTES: int(1024, 1048576, 65536),
  BROKER_SESSION_CACHE_ENTRIES: int(1, 100000, 500),
  BROKER_VERSION: z.string().default('dev'),
});

export type Settings = z.infer<typeof settingsSchema>;

/** Reads and validates the broker's environment variables. */
export function readSettings(env: Record<string, string | undefined> = process.env): Settings {
  const parsed = settingsSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (parsed.success) return parsed.data;
  const fields = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  throw new ConfigError(`invalid environment: ${fields}`);
}
