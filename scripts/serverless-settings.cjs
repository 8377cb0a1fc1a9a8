// Package-time settings for serverless.yml, read from the packaging environment and validated here so
// that a typo stops `npm run package` (or `osls deploy`) naming the variable, instead of deploying a
// template that silently differs from what the operator asked for. CommonJS because the framework
// require()s variable files; each property is resolved on its own (`${file(...):grantStore}`).
'use strict';

const GRANT_STORES = ['yaml', 'dynamodb'];
// The levels the broker's LOG_LEVEL accepts (src/config/settings.ts), any case.
const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'];
// DynamoDB table names: 3-255 of [A-Za-z0-9_.-].
const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;

/** The value of an environment variable, '' when unset. */
function env(name, source = process.env) {
  const value = source[name];
  return value === undefined ? '' : value;
}

/** `yaml` (the default, the config bundled with every function) or `dynamodb`. */
function grantStore(source = process.env) {
  const value = env('BROKER_GRANT_STORE', source);
  if (value === '') return 'yaml';
  if (!GRANT_STORES.includes(value)) {
    throw new Error(`BROKER_GRANT_STORE must be one of ${GRANT_STORES.join(', ')} (got ${JSON.stringify(value)})`);
  }
  return value;
}

/**
 * The grant table's name: with the DynamoDB store, $BROKER_GRANT_TABLE or `<service>-<stage>-grants`
 * (the table the template creates); with the YAML store the variable passes through unchanged (the
 * broker does not read it).
 */
function grantTableName({ service, stage }, source = process.env) {
  const value = env('BROKER_GRANT_TABLE', source);
  if (grantStore(source) !== 'dynamodb') return value;
  const name = value === '' ? `${service}-${stage}-grants` : value;
  if (!TABLE_NAME.test(name)) {
    throw new Error(`BROKER_GRANT_TABLE must be a DynamoDB table name: 3-255 of A-Z a-z 0-9 _ . - (got ${JSON.stringify(name)})`);
  }
  return name;
}

/**
 * Lambda's application log level for the JSON log format. Lambda drops every line below it before
 * it reaches CloudWatch, and Powertools Logger adopts it in place of LOG_LEVEL (AWS_LAMBDA_LOG_LEVEL
 * wins), so it must never rise above INFO, the level the audit lines are written at: LOG_LEVEL TRACE
 * or DEBUG lower it (debugging keeps working), any other level leaves it at INFO.
 */
function applicationLogLevel(source = process.env) {
  const value = env('LOG_LEVEL', source).toUpperCase();
  if (value !== '' && !LOG_LEVELS.includes(value)) {
    throw new Error(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (any case) or unset (got ${JSON.stringify(env('LOG_LEVEL', source))})`);
  }
  return value === 'TRACE' || value === 'DEBUG' ? value : 'INFO';
}

/** STS_BROKER_TRACING=true turns on X-Ray tracing for every function; unset or `false` leaves it off. */
function tracing(source = process.env) {
  const value = env('STS_BROKER_TRACING', source);
  if (value === '' || value === 'false') return false;
  if (value === 'true') return true;
  throw new Error(`STS_BROKER_TRACING must be true or false (got ${JSON.stringify(value)})`);
}

/**
 * esbuild `define`s baked into every bundle. `process.env.STS_BROKER_TRACING` becomes a literal, so the
 * tracer's dynamic import sits in a branch esbuild removes when tracing is off: the default bundles
 * carry no X-Ray code at all (a runtime switch alone would ship it in every bundle).
 */
function esbuildDefine(source = process.env) {
  return {
    'process.env.STS_BROKER_TRACING': JSON.stringify(String(tracing(source))),
    // src/wiring/grantTableChoice.ts: yaml bundles drop the DynamoDB table reader and its SDK
    'process.env.BROKER_GRANT_STORE': JSON.stringify(grantStore(source)),
  };
}

/** A positive number from the environment, or the default. */
function positiveNumber(name, fallback, source = process.env) {
  const raw = env(name, source);
  if (raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || !(value > 0)) throw new Error(`${name} must be a positive number (got ${JSON.stringify(raw)})`);
  return value;
}

/** An SNS topic ARN for alarm actions, or '' for none. */
function alarmTopicArn(source = process.env) {
  const value = env('BROKER_ALARM_TOPIC_ARN', source);
  if (value !== '' && !/^arn:aws[\w-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/.test(value)) {
    throw new Error(`BROKER_ALARM_TOPIC_ARN must be an SNS topic ARN (got ${JSON.stringify(value)})`);
  }
  return value;
}

async function context(resolveVariable) {
  return { service: await resolveVariable('self:service'), stage: await resolveVariable('sls:stage') };
}

module.exports = {
  grantStore: () => grantStore(),
  grantTableName: async ({ resolveVariable }) => grantTableName(await context(resolveVariable)),
  applicationLogLevel: () => applicationLogLevel(),
  tracing: () => tracing(),
  tracingEnv: () => String(tracing()),
  esbuildDefine: () => esbuildDefine(),
  alarmTopicArn: () => alarmTopicArn(),
  // p99 latency of the HTTP API in milliseconds; 5xx share of requests in percent
  alarmP99Ms: () => positiveNumber('BROKER_ALARM_P99_MS', 3000),
  alarm5xxPercent: () => positiveNumber('BROKER_ALARM_5XX_PERCENT', 1),
  // for tests and for serverless-role-arns.cjs
  lib: { grantStore, grantTableName, applicationLogLevel, tracing, esbuildDefine, positiveNumber, alarmTopicArn },
};
