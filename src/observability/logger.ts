import { Logger } from '@aws-lambda-powertools/logger';
import { loggerLogLevel } from '../config/settings.js';

/**
 * One structured JSON logger per container. What is logged is chosen field by field at each call
 * site (never whole events, headers or SDK errors), so no secret reaches a log line by accident.
 * Its level is LOG_LEVEL as config/settings.ts validates it (INFO when unset; an invalid value
 * logs at INFO until readSettings refuses to start, naming the variable).
 */
export function createLogger(serviceName = 'sts-broker', env: Record<string, string | undefined> = process.env): Logger {
  return new Logger({ serviceName, logLevel: loggerLogLevel(env) });
}

export type { Logger };
