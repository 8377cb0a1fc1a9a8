import { Logger } from '@aws-lambda-powertools/logger';

/**
 * One structured JSON logger per container. What is logged is chosen field by field at each call
 * site (never whole events, headers or SDK errors), so no secret reaches a log line by accident.
 */
export function createLogger(serviceName = 'sts-broker'): Logger {
  return new Logger({ serviceName, logLevel: (process.env.LOG_LEVEL as 'INFO' | undefined) ?? 'INFO' });
}

export type { Logger };
