import { Logger } from '@aws-lambda-powertools/logger';
import type { LogItemExtraInput, LogItemMessage } from '@aws-lambda-powertools/logger/types';
import { loggerLogLevel } from '../config/settings.js';
import { currentInvocation } from './invocation.js';

/**
 * The Powertools Logger, plus the running invocation's keys on every line: `correlation_id` (API
 * Gateway's request id) and, once authentication has named them, `partner` and `client`. They come
 * from the invocation's own context (./invocation.ts), not from keys appended to this shared
 * instance, so they are gone at the start of the next invocation by construction and one request's
 * partner can never appear on another's line; lines written by adapters (the STS failure line, say)
 * carry them without the adapter knowing. A call site's own field of the same name wins.
 *
 * The Lambda context (cold start, function name and ARN, memory, Lambda's request id) is added per
 * invocation by the middleware stack (`addContext`), as Powertools' own middleware does.
 */
class BrokerLogger extends Logger {
  /**
   * Whether temporary keys may have been appended since the last reset: only then does the next
   * invocation clear them (Powertools reads the environment on each of its per-invocation store
   * accesses, a measurable share of a warm presign when paid for nothing).
   */
  temporaryKeys = false;

  override appendKeys(attributes: Parameters<Logger['appendKeys']>[0]): void {
    this.temporaryKeys = true;
    super.appendKeys(attributes);
  }

  override resetKeys(): void {
    super.resetKeys();
    this.temporaryKeys = false;
  }

  protected override createAndPopulateLogItem(logLevel: number, input: LogItemMessage, extraInput: LogItemExtraInput): ReturnType<Logger['createAndPopulateLogItem']> {
    const invocation = currentInvocation();
    if (invocation === undefined) return super.createAndPopulateLogItem(logLevel, input, extraInput);
    const keys: Record<string, string> = { correlation_id: invocation.requestId };
    if (invocation.partner !== undefined) keys.partner = invocation.partner;
    if (invocation.client !== undefined) keys.client = invocation.client;
    // Powertools' type allows an object list or one string/Error; its runtime merges any mix in order.
    return super.createAndPopulateLogItem(logLevel, input, [keys, ...extraInput] as unknown as LogItemExtraInput);
  }
}

/**
 * One structured JSON logger per container. What is logged is chosen field by field at each call
 * site (never whole events, headers or SDK errors), so no secret reaches a log line by accident.
 * Its level is LOG_LEVEL as config/settings.ts validates it (INFO when unset; an invalid value
 * logs at INFO until readSettings refuses to start, naming the variable). Debug sampling is
 * Powertools' own POWERTOOLS_LOGGER_SAMPLE_RATE (0 to 1: the share of invocations logged at DEBUG),
 * recomputed per invocation by the middleware stack. The audit line does not go through it
 * (./auditLog.ts): no level set here can drop an audit line.
 */
export function createLogger(serviceName = 'sts-broker', env: Record<string, string | undefined> = process.env): Logger {
  const logger = new BrokerLogger({ serviceName, logLevel: loggerLogLevel(env) });
  // Powertools reads its sample rate from this variable alone here (no constructor option is passed);
  // unset, empty or 0 means no invocation is ever sampled. Anything else counts as sampling (a value
  // Powertools rejects then only costs a redundant refresh per invocation, never a lost sample).
  const rate = (env.POWERTOOLS_LOGGER_SAMPLE_RATE ?? '').trim();
  if (rate === '' || Number(rate) === 0) neverSampled.add(logger);
  return logger;
}

/** Loggers whose debug sampling is off for good: the per-invocation redraw would only reset the level it already has. */
const neverSampled = new WeakSet<Logger>();

/**
 * What the logger needs at the start of each invocation, as Powertools' own middleware does it:
 * keys anyone appended to the shared logger during the last invocation are cleared, the Lambda
 * context (cold start, function name, Lambda's request id) is added when there is one, and the
 * debug-sampling decision (POWERTOOLS_LOGGER_SAMPLE_RATE) is drawn afresh for this invocation.
 * Without sampling that redraw only sets the level the logger already has (and reads the
 * environment to do so, a measurable share of a warm presign), so it is skipped.
 */
export function startLoggerInvocation(logger: Logger, context: { awsRequestId?: unknown } | undefined): void {
  if (!(logger instanceof BrokerLogger) || logger.temporaryKeys) logger.resetKeys();
  if (typeof context?.awsRequestId === 'string') logger.addContext(context as Parameters<Logger['addContext']>[0]);
  if (!neverSampled.has(logger)) logger.refreshSampleRateCalculation();
}

export type { Logger };
