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

/**
 * A role ARN with an account id and no wildcard: the only principal the execution role's trust may
 * name besides Lambda. IAM's role name/path charset has no `*` or `?`, so this also rules out a
 * wildcard; an account (`arn:...:root` or a bare 12-digit id), `*`, a user or an assumed-role session
 * is refused by the shape alone.
 */
const ROLE_ARN = /^arn:(aws|aws-cn|aws-us-gov):iam::\d{12}:role\/[\w+=,.@/-]{1,575}$/;

/** BROKER_DOCTOR_PRINCIPAL_ARN: the operators' role that may assume the execution role, or '' for none. */
function doctorPrincipalArn(source = process.env) {
  const value = env('BROKER_DOCTOR_PRINCIPAL_ARN', source).trim();
  if (value !== '' && !ROLE_ARN.test(value)) {
    throw new Error('BROKER_DOCTOR_PRINCIPAL_ARN must be one IAM role ARN (arn:aws:iam::<account>:role/<name>), '
      + `never an account, a user, a session or a wildcard (got ${JSON.stringify(value)})`);
  }
  return value;
}

/**
 * The execution role's trust policy (IamRoleLambdaExecution's AssumeRolePolicyDocument): the
 * framework's own Lambda statement, plus OperatorsRunDoctor only when BROKER_DOCTOR_PRINCIPAL_ARN is
 * set, so that operator role can assume the broker's role to run `npm run doctor` (docs/doctor.md).
 * Restated in full because the template's resource extensions replace a property, they do not merge it.
 */
function assumeRolePolicy(source = process.env) {
  const principal = doctorPrincipalArn(source);
  const statements = [{ Effect: 'Allow', Principal: { Service: ['lambda.amazonaws.com'] }, Action: ['sts:AssumeRole'] }];
  if (principal !== '') statements.push({ Sid: 'OperatorsRunDoctor', Effect: 'Allow', Principal: { AWS: principal }, Action: 'sts:AssumeRole' });
  return { Version: '2012-10-17', Statement: statements };
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
  assumeRolePolicy: () => assumeRolePolicy(),
  // p99 latency of the HTTP API in milliseconds; 5xx share of requests in percent
  alarmP99Ms: () => positiveNumber('BROKER_ALARM_P99_MS', 3000),
  alarm5xxPercent: () => positiveNumber('BROKER_ALARM_5XX_PERCENT', 1),
  // for tests and for serverless-role-arns.cjs
  lib: { grantStore, grantTableName, applicationLogLevel, tracing, esbuildDefine, positiveNumber, alarmTopicArn, doctorPrincipalArn, assumeRolePolicy },
};
