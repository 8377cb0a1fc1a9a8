/**
 * The audit channel: one preformatted JSON line per issuance and per refusal of an authenticated
 * caller, written straight to stdout, beside the logger rather than through it.
 *
 * Why not the logger: its level (LOG_LEVEL, POWERTOOLS_LOG_LEVEL, or Lambda's own
 * AWS_LAMBDA_LOG_LEVEL, which Powertools obeys first) would decide whether the audit trail exists.
 * This writer has no level at all: every call writes its line.
 *
 * What is left is Lambda's own application log-level filter (JSON log format only): it drops lines
 * whose `level` is below the function's application log level. Audit lines say `"level":"INFO"`
 * (their honest severity: a FATAL-level audit line would set off every alarm on fatal lines), so
 * `auditChannelProblem` refuses any environment where Lambda would drop INFO lines: the broker then
 * fails to start (like an invalid config) rather than issue anything it cannot audit. In the Text log
 * format Lambda filters nothing.
 *
 * Cheap by design (one JSON.stringify and one write, a few microseconds): every issuance pays it.
 * Schema: docs/observability.md, "Audit lines" (`auditVersion` 1). Never a secret key, session
 * token, signature or API key: only the identifiers listed there.
 */

/** The version of the audit line's schema; bumped on any change a consumer could notice. */
export const AUDIT_VERSION = 1;

/** Lambda's application log levels that drop INFO lines (anything above INFO). */
const LEVELS_DROPPING_INFO = new Set(['WARN', 'ERROR', 'FATAL']);

/**
 * Why audit lines would not reach CloudWatch in this environment, or undefined when they would:
 * Lambda's JSON log format with an application log level above INFO (Lambda sets
 * AWS_LAMBDA_LOG_FORMAT and AWS_LAMBDA_LOG_LEVEL from the function's logging configuration).
 */
export function auditChannelProblem(env: Record<string, string | undefined> = process.env): string | undefined {
  const format = (env.AWS_LAMBDA_LOG_FORMAT ?? '').toUpperCase();
  const level = (env.AWS_LAMBDA_LOG_LEVEL ?? '').toUpperCase();
  if (format === 'JSON' && LEVELS_DROPPING_INFO.has(level)) {
    return `the function's application log level is ${level} (AWS_LAMBDA_LOG_LEVEL), so Lambda would drop the INFO-level audit lines; `
      + 'set the application log level to INFO (or TRACE/DEBUG), or use LOG_LEVEL to quieten the broker\'s other lines';
  }
  return undefined;
}

/** Where audit lines go: stdout (CloudWatch Logs in Lambda). Replaceable for tests and benchmarks only. */
export type AuditSink = (line: string) => void;
let sink: AuditSink = (line) => { process.stdout.write(line); };

/** Test and benchmark hook: routes audit lines elsewhere; returns the previous sink. */
export function setAuditSink(next: AuditSink): AuditSink {
  const previous = sink;
  sink = next;
  return previous;
}

/** Fields of one audit line besides the fixed header; values are plain JSON. */
export type AuditFields = Record<string, string | number | boolean | readonly number[] | readonly string[] | undefined>;

/** The header's keys: no field or detail may set them. */
const HEADER_KEYS = new Set(['level', 'timestamp', 'service', 'message', 'audit', 'auditVersion', 'event']);

/**
 * Writes one audit line: the fixed header (level, timestamp, service, message, audit, auditVersion,
 * event), then `details` (operation facts), then `fields`. Neither can overwrite a header field, a
 * field wins over a detail of the same name, and undefined values are left out. The header is
 * preformatted text and the rest is built key by key (never by spreading one object over another:
 * overwritten keys make V8 serialise the object an order of magnitude slower).
 */
export function writeAuditLine(event: 'issued' | 'refused', fields: AuditFields, details?: AuditFields, now: Date = new Date()): void {
  const rest = details === undefined && !Object.keys(fields).some((key) => HEADER_KEYS.has(key))
    // The common case serialised as it stands: JSON.stringify leaves out undefined values, as the copy below does.
    ? JSON.stringify(fields)
    : JSON.stringify(mergedBody(fields, details));
  sink(`{"level":"INFO","timestamp":"${now.toISOString()}","service":"sts-broker","message":"${event}","audit":true,"auditVersion":${AUDIT_VERSION},"event":"${event}"${rest === '{}' ? '}' : `,${rest.slice(1)}`}\n`);
}

/** `details` then `fields` (a field wins over a detail of its name), header keys and undefined values left out. */
function mergedBody(fields: AuditFields, details: AuditFields | undefined): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (details !== undefined) {
    for (const key of Object.keys(details)) {
      if (!HEADER_KEYS.has(key) && fields[key] === undefined && details[key] !== undefined) body[key] = details[key];
    }
  }
  for (const key of Object.keys(fields)) {
    if (!HEADER_KEYS.has(key) && fields[key] !== undefined) body[key] = fields[key];
  }
  return body;
}
