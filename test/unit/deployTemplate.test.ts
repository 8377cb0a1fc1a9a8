/**
 * The deployment template's package-time settings (scripts/serverless-settings.cjs), the execution
 * role's partner-role rule (scripts/serverless-role-arns.cjs) and the packaged-template checks
 * (scripts/lib/templateChecks.ts, run by scripts/check-package). The template here mirrors the one
 * `npm run package` writes (same logical ids and shapes); CI runs the same checks on the real one.
 * Every rule is shown to fire on a template that breaks it, so a passing check means something.
 */
import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { activeResources, checkTemplate, checkTrust, PASS_THROUGH_ENV, type Json } from '../../scripts/lib/templateChecks.js';
import { zipEntries } from '../../scripts/lib/zipEntries.js';

const require = createRequire(import.meta.url);
const settings = require('../../scripts/serverless-settings.cjs').lib as {
  grantStore(env: Record<string, string>): string;
  grantTableName(ctx: { service: string; stage: string }, env: Record<string, string>): string;
  applicationLogLevel(env: Record<string, string>): string;
  tracing(env: Record<string, string>): boolean;
  esbuildDefine(env: Record<string, string>): Record<string, string>;
  positiveNumber(name: string, fallback: number, env: Record<string, string>): number;
  alarmTopicArn(env: Record<string, string>): string;
  doctorPrincipalArn(env: Record<string, string>): string;
  assumeRolePolicy(env: Record<string, string>): Obj;
};
const { roleArns } = require('../../scripts/serverless-role-arns.cjs') as {
  roleArns(input: { store: string; path: string; text?: string; accounts?: string; region?: string; local?: boolean }): string[];
};

const OPERATORS = 'arn:aws:iam::999999999999:role/ops/sts-broker-operators';

describe('package-time settings', () => {
  it('the grant store defaults to yaml and accepts only yaml or dynamodb', () => {
    expect(settings.grantStore({})).toBe('yaml');
    expect(settings.grantStore({ BROKER_GRANT_STORE: '' })).toBe('yaml');
    expect(settings.grantStore({ BROKER_GRANT_STORE: 'dynamodb' })).toBe('dynamodb');
    expect(() => settings.grantStore({ BROKER_GRANT_STORE: 'DynamoDB' })).toThrow('BROKER_GRANT_STORE must be one of yaml, dynamodb (got "DynamoDB")');
  });

  it('the table is <service>-<stage>-grants unless named; the YAML store passes the variable through', () => {
    const ctx = { service: 'sts-broker', stage: 'prod' };
    expect(settings.grantTableName(ctx, { BROKER_GRANT_STORE: 'dynamodb' })).toBe('sts-broker-prod-grants');
    expect(settings.grantTableName(ctx, { BROKER_GRANT_STORE: 'dynamodb', BROKER_GRANT_TABLE: 'grants.v2' })).toBe('grants.v2');
    expect(settings.grantTableName(ctx, {})).toBe('');
    expect(() => settings.grantTableName(ctx, { BROKER_GRANT_STORE: 'dynamodb', BROKER_GRANT_TABLE: 'a b' }))
      .toThrow('BROKER_GRANT_TABLE must be a DynamoDB table name');
  });

  it("Lambda's application log level never rises above INFO, whatever LOG_LEVEL says (property)", () => {
    const levels = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'];
    fc.assert(fc.property(fc.constantFrom(...levels), fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), (level, upper) => {
      const mixed = [...level].map((c, i) => (upper[i] ? c : c.toLowerCase())).join('');
      const result = settings.applicationLogLevel({ LOG_LEVEL: mixed });
      expect(result).toBe(level === 'TRACE' || level === 'DEBUG' ? level : 'INFO');
    }));
    expect(settings.applicationLogLevel({})).toBe('INFO');
    expect(() => settings.applicationLogLevel({ LOG_LEVEL: 'verbose' })).toThrow('LOG_LEVEL must be one of TRACE, DEBUG, INFO');
  });

  it('the tracing flag is true or false, and esbuild bakes it in as a string literal', () => {
    expect(settings.tracing({})).toBe(false);
    expect(settings.tracing({ STS_BROKER_TRACING: 'true' })).toBe(true);
    expect(() => settings.tracing({ STS_BROKER_TRACING: 'yes' })).toThrow('STS_BROKER_TRACING must be true or false (got "yes")');
    expect(settings.esbuildDefine({})).toEqual({ 'process.env.STS_BROKER_TRACING': '"false"', 'process.env.BROKER_GRANT_STORE': '"yaml"' });
    expect(settings.esbuildDefine({ STS_BROKER_TRACING: 'true', BROKER_GRANT_STORE: 'dynamodb' }))
      .toEqual({ 'process.env.STS_BROKER_TRACING': '"true"', 'process.env.BROKER_GRANT_STORE': '"dynamodb"' });
  });

  it('alarm thresholds and the SNS topic are validated', () => {
    expect(settings.positiveNumber('BROKER_ALARM_P99_MS', 3000, {})).toBe(3000);
    expect(settings.positiveNumber('BROKER_ALARM_P99_MS', 3000, { BROKER_ALARM_P99_MS: '1500' })).toBe(1500);
    expect(() => settings.positiveNumber('BROKER_ALARM_P99_MS', 3000, { BROKER_ALARM_P99_MS: '-1' })).toThrow('BROKER_ALARM_P99_MS must be a positive number (got "-1")');
    expect(() => settings.positiveNumber('BROKER_ALARM_5XX_PERCENT', 1, { BROKER_ALARM_5XX_PERCENT: '0' })).toThrow('BROKER_ALARM_5XX_PERCENT must be a positive number');
    expect(settings.alarmTopicArn({ BROKER_ALARM_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:ops' })).toBe('arn:aws:sns:eu-west-1:123456789012:ops');
    expect(() => settings.alarmTopicArn({ BROKER_ALARM_TOPIC_ARN: 'ops' })).toThrow('BROKER_ALARM_TOPIC_ARN must be an SNS topic ARN');
  });

  it("the doctor principal is one role ARN or nothing: never an account, '*', a user or a session", () => {
    expect(settings.doctorPrincipalArn({})).toBe('');
    expect(settings.doctorPrincipalArn({ BROKER_DOCTOR_PRINCIPAL_ARN: '' })).toBe('');
    expect(settings.doctorPrincipalArn({ BROKER_DOCTOR_PRINCIPAL_ARN: OPERATORS })).toBe(OPERATORS);
    expect(settings.doctorPrincipalArn({ BROKER_DOCTOR_PRINCIPAL_ARN: 'arn:aws-us-gov:iam::123456789012:role/ops/break-glass' }))
      .toBe('arn:aws-us-gov:iam::123456789012:role/ops/break-glass');
    for (const bad of [
      '*', '123456789012', 'arn:aws:iam::123456789012:root', 'arn:aws:iam::*:role/ops', 'arn:aws:iam::123456789012:role/*',
      'arn:aws:iam::123456789012:role/ops-?', 'arn:aws:iam::123456789012:user/alice', 'arn:aws:iam:::role/ops',
      'arn:aws:sts::123456789012:assumed-role/ops/alice', `${OPERATORS},arn:aws:iam::123456789012:role/other`, 'ops',
    ]) {
      expect(() => settings.doctorPrincipalArn({ BROKER_DOCTOR_PRINCIPAL_ARN: bad }))
        .toThrow(`BROKER_DOCTOR_PRINCIPAL_ARN must be one IAM role ARN (arn:aws:iam::<account>:role/<name>), never an account, a user, a session or a wildcard (got ${JSON.stringify(bad)})`);
    }
  });

  it("the execution role's trust: Lambda only, plus OperatorsRunDoctor when the variable is set", () => {
    const lambda = { Effect: 'Allow', Principal: { Service: ['lambda.amazonaws.com'] }, Action: ['sts:AssumeRole'] };
    expect(settings.assumeRolePolicy({})).toEqual({ Version: '2012-10-17', Statement: [lambda] });
    expect(settings.assumeRolePolicy({ BROKER_DOCTOR_PRINCIPAL_ARN: OPERATORS })).toEqual({
      Version: '2012-10-17',
      Statement: [lambda, { Sid: 'OperatorsRunDoctor', Effect: 'Allow', Principal: { AWS: OPERATORS }, Action: 'sts:AssumeRole' }],
    });
  });

  it('every doctor principal the setting accepts passes check-package, and any other principal fails it (property)', () => {
    const name = fc.stringMatching(/^[\w+=,.@-]{1,20}(\/[\w+=,.@-]{1,20}){0,2}$/);
    const accepted = fc.tuple(fc.constantFrom('aws', 'aws-cn', 'aws-us-gov'), fc.stringMatching(/^\d{12}$/), name)
      .map(([partition, account, role]) => `arn:${partition}:iam::${account}:role/${role}`);
    fc.assert(fc.property(accepted, (arn) => {
      const summary: string[] = [];
      expect(checkTrust(settings.assumeRolePolicy({ BROKER_DOCTOR_PRINCIPAL_ARN: arn }) as Json, summary)).toEqual([]);
      expect(summary).toEqual([`execution role trust: lambda.amazonaws.com, and ${arn} (OperatorsRunDoctor)`]);
    }));
    // whatever else the variable holds, either the setting refuses it or check-package does: never both accept
    const hostile = fc.oneof(
      fc.string(),
      accepted.map((arn) => arn.replace(/:role\/.*/, ':root')),
      accepted.map((arn) => arn.replace(/:role\/.*/, ':role/*')),
      accepted.map((arn) => arn.replace(/:role\//, ':user/')),
      fc.stringMatching(/^\d{12}$/),
    );
    let refused = 0;
    fc.assert(fc.property(hostile, (value) => {
      let policy: Obj;
      try {
        policy = settings.assumeRolePolicy({ BROKER_DOCTOR_PRINCIPAL_ARN: value });
      } catch {
        refused += 1;
        return;
      }
      const doc = copy(policy);
      const problems = checkTrust(doc, []);
      // the setting accepted it: only empty (after trimming) or a well-formed role ARN
      if (value.trim() === '') expect(doc.Statement).toHaveLength(1);
      else expect(problems).toEqual([]);
      // whichever it was, check-package refuses it once put there by hand
      doc.Statement.push({ Sid: 'OperatorsRunDoctor', Effect: 'Allow', Principal: { AWS: value.replace(/:role\/.*/, ':root') }, Action: 'sts:AssumeRole' });
      expect(checkTrust(doc, []).length).toBeGreaterThan(0);
    }), { numRuns: 300 });
    expect(refused).toBeGreaterThan(100);
  });
});

describe('the partner roles the execution role may assume', () => {
  const example = readFileSync('config/broker.example.yaml', 'utf8');
  const twoPartners = 'partners:\n  a: { roleArn: "arn:aws:iam::111111111111:role/A" }\n  b: { roleArn: "arn:aws:iam::222222222222:role/team/B" }\n';

  it('YAML store: exactly the ARNs the config names, as before', () => {
    expect(roleArns({ store: 'yaml', path: 'x.yaml', text: twoPartners })).toEqual(['arn:aws:iam::111111111111:role/A', 'arn:aws:iam::222222222222:role/team/B']);
    expect(roleArns({ store: 'yaml', path: 'ex.yaml', text: example })).toEqual(['arn:aws:iam::111111111111:role/Role-A']);
    expect(() => roleArns({ store: 'yaml', path: 'x.yaml', text: 'partners: {}\n' })).toThrow('x.yaml: no partners, so no role the broker may assume');
    expect(() => roleArns({ store: 'yaml', path: 'x.yaml', text: 'partners:\n  a: { roleArn: "arn:aws:iam::*:role/A" }\n' }))
      .toThrow('x.yaml: partners.a.roleArn must be a full IAM role ARN with an account id to deploy (got "arn:aws:iam::*:role/A")');
  });

  it('local runs accept role ARNs without an account; deployable ones do not', () => {
    const local = 'partners:\n  a: { roleArn: "arn:aws:iam:::role/A" }\n';
    expect(roleArns({ store: 'yaml', path: 'x.yaml', text: local, local: true })).toEqual(['arn:aws:iam:::role/A']);
    expect(() => roleArns({ store: 'yaml', path: 'x.yaml', text: local })).toThrow('partners.a.roleArn must be a full IAM role ARN');
  });

  it('DynamoDB store: the /sts-broker/ path in each allowed account, plus the config partners', () => {
    expect(roleArns({ store: 'dynamodb', path: 'x.yaml', accounts: '123456789012, 210987654321' }))
      .toEqual(['arn:aws:iam::123456789012:role/sts-broker/*', 'arn:aws:iam::210987654321:role/sts-broker/*']);
    expect(roleArns({ store: 'dynamodb', path: 'x.yaml', text: twoPartners, accounts: '123456789012' }))
      .toEqual(['arn:aws:iam::123456789012:role/sts-broker/*', 'arn:aws:iam::111111111111:role/A', 'arn:aws:iam::222222222222:role/team/B']);
    expect(roleArns({ store: 'dynamodb', path: 'x.yaml', accounts: 'any' })).toEqual(['arn:aws:iam::*:role/sts-broker/*']);
    expect(roleArns({ store: 'dynamodb', path: 'x.yaml', accounts: '123456789012', region: 'cn-north-1' })).toEqual(['arn:aws-cn:iam::123456789012:role/sts-broker/*']);
    expect(roleArns({ store: 'dynamodb', path: 'x.yaml', local: true })).toEqual(['arn:aws:iam:::role/sts-broker/*']);
  });

  it('DynamoDB store: no account list is an error that says what to set, and a bad id is named', () => {
    expect(() => roleArns({ store: 'dynamodb', path: 'x.yaml' })).toThrow(/^BROKER_PARTNER_ACCOUNTS must list the AWS account ids/);
    expect(() => roleArns({ store: 'dynamodb', path: 'x.yaml', accounts: '123456789012,*' })).toThrow('BROKER_PARTNER_ACCOUNTS: "*" is not a 12-digit AWS account id');
    expect(() => roleArns({ store: 'dynamodb', path: 'x.yaml', accounts: '12345' })).toThrow('"12345" is not a 12-digit AWS account id');
  });
});

describe('the role-path rule, evaluated by an IAM policy simulator', () => {
  const brokerRole = 'arn:aws:iam::999999999999:role/sts-broker-prod-eu-west-1-lambdaRole';
  const principal = 'arn:aws:sts::999999999999:assumed-role/sts-broker-prod-eu-west-1-lambdaRole/sts-broker-prod-credentials';

  /** The execution role's statement as the template writes it, against a role whose trust policy lets the broker in. */
  async function decide(resources: string[], action: string, role: string): Promise<string> {
    const identity = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity'], Resource: resources }] };
    const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: brokerRole }, Action: action }] };
    const result = await runSimulation({
      request: { principal, action, resource: { resource: role, accountId: role.split(':')[4]! }, contextVariables: {} },
      identityPolicies: [{ name: 'execution-role', policy: identity }],
      resourcePolicy: trust,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    }, {});
    if (result.resultType === 'error') throw new Error(`simulation failed: ${JSON.stringify(result.errors)}`);
    if (result.resultType !== 'single') throw new Error(`unexpected simulation result ${result.resultType}`);
    return result.overallResult;
  }

  it('DynamoDB store: only roles under /sts-broker/ in an allowed account, even when they trust the broker', async () => {
    const resources = roleArns({ store: 'dynamodb', path: 'x.yaml', accounts: '123456789012' });
    for (const action of ['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity']) {
      expect(await decide(resources, action, 'arn:aws:iam::123456789012:role/sts-broker/acme')).toBe('Allowed');
      expect(await decide(resources, action, 'arn:aws:iam::123456789012:role/sts-broker/team/globex')).toBe('Allowed');
      expect(await decide(resources, action, 'arn:aws:iam::123456789012:role/Admin')).toBe('ImplicitlyDenied');
      expect(await decide(resources, action, 'arn:aws:iam::123456789012:role/sts-broker-lookalike')).toBe('ImplicitlyDenied');
      expect(await decide(resources, action, 'arn:aws:iam::210987654321:role/sts-broker/acme')).toBe('ImplicitlyDenied');
    }
  });

  it("the execution role's trust: the doctor principal only when set, and no other role of its account", async () => {
    const other = 'arn:aws:iam::999999999999:role/ops/someone-else';
    /** The caller may assume any role; the execution role's trust decides. */
    async function assume(callerRole: string, env: Record<string, string>): Promise<string> {
      const [, , , , account, resource] = callerRole.split(':');
      const name = resource!.split('/').pop();
      const result = await runSimulation({
        request: { principal: `arn:aws:sts::${account}:assumed-role/${name}/alice`, action: 'sts:AssumeRole', resource: { resource: brokerRole, accountId: '999999999999' }, contextVariables: {} },
        identityPolicies: [{ name: 'may-assume', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }] } }],
        resourcePolicy: settings.assumeRolePolicy(env),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      }, {});
      if (result.resultType !== 'single') throw new Error(`unexpected simulation result ${JSON.stringify(result)}`);
      return result.overallResult;
    }
    const doctorEnv = { BROKER_DOCTOR_PRINCIPAL_ARN: OPERATORS };
    expect(await assume(OPERATORS, doctorEnv)).toBe('Allowed');
    expect(await assume(other, doctorEnv)).toBe('ImplicitlyDenied');
    expect(await assume(OPERATORS, {})).toBe('ImplicitlyDenied');
  });

  it('YAML store: only the exact role the config names', async () => {
    const resources = roleArns({ store: 'yaml', path: 'x.yaml', text: 'partners:\n  a: { roleArn: "arn:aws:iam::123456789012:role/sts-broker/acme" }\n' });
    expect(await decide(resources, 'sts:AssumeRole', 'arn:aws:iam::123456789012:role/sts-broker/acme')).toBe('Allowed');
    expect(await decide(resources, 'sts:AssumeRole', 'arn:aws:iam::123456789012:role/sts-broker/other')).toBe('ImplicitlyDenied');
  });
});

// ---------------------------------------------------------------------------------------------
// A template shaped like `npm run package`'s output (logical ids, properties and intrinsics as osls
// writes them), YAML or DynamoDB store, tracing off or on.

type Obj = { [key: string]: Json };
const FUNCTIONS = ['Credentials', 'Uploads', 'Health'];
const topicAction = { 'Fn::If': ['HasAlarmTopic', [{ Ref: 'AlarmTopicArn' }], { Ref: 'AWS::NoValue' }] };

function template({ store = 'yaml', tracing = false, doctor = '' } = {}): Obj {
  const env: Obj = Object.fromEntries(PASS_THROUGH_ENV.map((v) => [v, '']));
  Object.assign(env, { BROKER_GRANT_STORE: store, BROKER_GRANT_TABLE: store === 'dynamodb' ? 'sts-broker-prod-grants' : '', STS_BROKER_TRACING: String(tracing) });
  const fn = (name: string): Obj => ({
    Type: 'AWS::Lambda::Function',
    Properties: {
      Code: { S3Bucket: { Ref: 'ServerlessDeploymentBucket' }, S3Key: `serverless/sts-broker/prod/1/${name.toLowerCase()}.zip` },
      Environment: { Variables: { ...env } },
      LoggingConfig: { ApplicationLogLevel: 'INFO', LogFormat: 'JSON', SystemLogLevel: 'INFO' },
      ...(tracing ? { TracingConfig: { Mode: 'Active' } } : {}),
    },
  });
  const statements: Json[] = [
    { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:CreateLogGroup', 'logs:TagResource'], Resource: [{ 'Fn::Sub': 'arn:${AWS::Partition}:logs:x' }] },
    { Effect: 'Allow', Action: ['logs:PutLogEvents'], Resource: [{ 'Fn::Sub': 'arn:${AWS::Partition}:logs:y' }] },
    ...(tracing ? [{ Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: ['*'] }] : []),
    {
      Effect: 'Allow',
      Action: ['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity'],
      Resource: store === 'dynamodb' ? ['arn:aws:iam::123456789012:role/sts-broker/*'] : 'arn:aws:iam::111111111111:role/Role-A',
    },
  ];
  const refusalAlarm = (code: string): Obj => ({
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      Metrics: [{ Id: 'refusals', ReturnData: true, Period: 300, Expression: `SELECT SUM(Refusals) FROM StsBroker WHERE service = 'sts-broker' AND ErrorCode = '${code}'` }],
      ComparisonOperator: 'GreaterThanOrEqualToThreshold', Threshold: 1, EvaluationPeriods: 1, AlarmActions: topicAction, OKActions: topicAction,
    },
  });
  const apiStat = (id: string, name: string): Obj => ({ Id: id, ReturnData: false, MetricStat: { Metric: { Namespace: 'AWS/ApiGateway', MetricName: name, Dimensions: [{ Name: 'ApiId', Value: { Ref: 'HttpApi' } }] }, Period: 60, Stat: 'Sum' } });
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Parameters: { AlarmTopicArn: { Type: 'String', Default: '' } },
    Conditions: {
      UseGrantTable: { 'Fn::Equals': [store, 'dynamodb'] },
      HasAlarmTopic: { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'AlarmTopicArn' }, ''] }] },
    },
    Resources: {
      ...Object.fromEntries(FUNCTIONS.map((n) => [`${n}LambdaFunction`, fn(n)])),
      IamRoleLambdaExecution: {
        Type: 'AWS::IAM::Role',
        Properties: {
          AssumeRolePolicyDocument: settings.assumeRolePolicy(doctor === '' ? {} : { BROKER_DOCTOR_PRINCIPAL_ARN: doctor }),
          Policies: [{ PolicyName: { 'Fn::Join': ['-', ['sts-broker', 'prod', 'lambda']] }, PolicyDocument: { Version: '2012-10-17', Statement: statements } }] },
      },
      GrantTable: {
        Type: 'AWS::DynamoDB::Table', Condition: 'UseGrantTable', DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain',
        Properties: {
          TableName: 'sts-broker-prod-grants', BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }, DeletionProtectionEnabled: true,
        },
      },
      GrantTableReadPolicy: {
        Type: 'AWS::IAM::Policy', Condition: 'UseGrantTable',
        Properties: {
          PolicyName: 'sts-broker-prod-grant-table-read', Roles: [{ Ref: 'IamRoleLambdaExecution' }],
          PolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['dynamodb:GetItem'], Resource: { 'Fn::GetAtt': ['GrantTable', 'Arn'] } }] },
        },
      },
      HttpApi: { Type: 'AWS::ApiGatewayV2::Api', Properties: { Name: 'prod-sts-broker', ProtocolType: 'HTTP' } },
      HttpApiLogGroup: { Type: 'AWS::Logs::LogGroup', Properties: { LogGroupName: '/aws/http-api/sts-broker-prod', RetentionInDays: 30 } },
      HttpApiStage: {
        Type: 'AWS::ApiGatewayV2::Stage', DependsOn: 'HttpApiLogGroup',
        Properties: {
          ApiId: { Ref: 'HttpApi' }, StageName: '$default', AutoDeploy: true,
          AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': ['HttpApiLogGroup', 'Arn'] }, Format: '{"requestId":"$context.requestId","status":"$context.status"}' },
        },
      },
      AlarmServerErrorRate: {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: {
          Metrics: [apiStat('errors', '5xx'), apiStat('requests', 'Count'), { Id: 'rate', ReturnData: true, Expression: 'IF(requests >= 20, 100 * errors / requests, 0)' }],
          ComparisonOperator: 'GreaterThanThreshold', Threshold: 1, EvaluationPeriods: 5, AlarmActions: topicAction, OKActions: topicAction,
        },
      },
      AlarmLatencyP99: {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: {
          Namespace: 'AWS/ApiGateway', MetricName: 'Latency', Dimensions: [{ Name: 'ApiId', Value: { Ref: 'HttpApi' } }], ExtendedStatistic: 'p99',
          Period: 300, ComparisonOperator: 'GreaterThanThreshold', Threshold: 3000, EvaluationPeriods: 3, AlarmActions: topicAction, OKActions: topicAction,
        },
      },
      AlarmPartnerRoleNotAssumable: refusalAlarm('partner_role_not_assumable'),
      AlarmStsThrottled: refusalAlarm('sts_throttled'),
      AlarmGrantStoreUnavailable: refusalAlarm('grant_store_unavailable'),
    },
    Outputs: {
      HttpApiUrl: { Value: { 'Fn::Join': ['', ['https://', { Ref: 'HttpApi' }, '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]] } },
      ExecutionRoleArn: { Value: { 'Fn::GetAtt': ['IamRoleLambdaExecution', 'Arn'] } },
      GrantTableName: { Condition: 'UseGrantTable', Value: { Ref: 'GrantTable' } },
    },
  };
}

/** A deep copy to break, so no case leaks into another. */
const copy = (t: Obj): any => JSON.parse(JSON.stringify(t));
const problemsOf = (t: Json) => checkTemplate(t).problems;
const stsStatement = (t: any) => t.Resources.IamRoleLambdaExecution.Properties.Policies[0].PolicyDocument.Statement.find((s: any) => String(s.Action).startsWith('sts:'));

describe('checkTemplate: templates that pass', () => {
  it.each([
    ['YAML store', { store: 'yaml' }],
    ['DynamoDB store', { store: 'dynamodb' }],
    ['DynamoDB store with tracing', { store: 'dynamodb', tracing: true }],
    ['YAML store with tracing', { store: 'yaml', tracing: true }],
    ['YAML store with the doctor principal', { doctor: OPERATORS }],
    ['DynamoDB store with the doctor principal', { store: 'dynamodb', doctor: OPERATORS }],
  ])('%s: no finding, and a summary of what was proven', (_name, options) => {
    const report = checkTemplate(template(options));
    expect(report.problems).toEqual([]);
    expect(report.summary.join('\n')).toContain('execution role: sts:AssumeRole, sts:SetSourceIdentity, sts:TagSession on arn:aws:iam::');
    expect(report.summary.join('\n')).toContain('access logs: HttpApiStage → HttpApiLogGroup');
  });

  it("the trust line names the doctor principal only when it is set", () => {
    expect(checkTemplate(template()).summary).toContain('execution role trust: lambda.amazonaws.com only');
    expect(checkTemplate(template({ doctor: OPERATORS })).summary).toContain(`execution role trust: lambda.amazonaws.com, and ${OPERATORS} (OperatorsRunDoctor)`);
  });

  it('conditions decide which resources exist: the table only with the DynamoDB store', () => {
    expect(Object.keys(activeResources(template({ store: 'yaml' })))).not.toContain('GrantTable');
    expect(Object.keys(activeResources(template({ store: 'dynamodb' })))).toEqual(expect.arrayContaining(['GrantTable', 'GrantTableReadPolicy']));
  });
});

describe('checkTemplate: each rule fires on a template that breaks it', () => {
  const trust = (t: any) => t.Resources.IamRoleLambdaExecution.Properties.AssumeRolePolicyDocument;
  const doctor = (t: any) => trust(t).Statement.find((s: any) => s.Sid === 'OperatorsRunDoctor');
  const cases: Array<[string, { store?: string; tracing?: boolean; doctor?: string }, (t: any) => void, string]> = [
    ['a bare "*" for sts:AssumeRole', {}, (t) => { stsStatement(t).Resource = '*'; }, 'a bare "*" resource'],
    ['"*" among the role ARNs', {}, (t) => { stsStatement(t).Resource = ['arn:aws:iam::111111111111:role/Role-A', '*']; }, 'a bare "*" resource'],
    ['a wildcard role name', {}, (t) => { stsStatement(t).Resource = 'arn:aws:iam::111111111111:role/*'; }, 'is neither a full role ARN'],
    ['every account, any path', { store: 'dynamodb' }, (t) => { stsStatement(t).Resource = 'arn:aws:iam::*:role/*'; }, 'is neither a full role ARN'],
    ['a local (account-less) ARN in a deployable template', {}, (t) => { stsStatement(t).Resource = 'arn:aws:iam:::role/A'; }, 'is neither a full role ARN'],
    ['the role-path rule with the YAML store', {}, (t) => { stsStatement(t).Resource = 'arn:aws:iam::123456789012:role/sts-broker/*'; }, 'the role-path rule arn:aws:iam::123456789012:role/sts-broker/* without the DynamoDB store'],
    ['sts:* as the action', {}, (t) => { stsStatement(t).Action = ['sts:*']; }, 'wildcard action'],
    ['another STS action', {}, (t) => { stsStatement(t).Action.push('sts:GetFederationToken'); }, 'unexpected STS action sts:GetFederationToken'],
    ['NotResource', {}, (t) => { stsStatement(t).NotResource = 'arn:aws:iam::1:role/x'; }, 'NotResource is not allowed'],
    ['an S3 grant on the role', {}, (t) => { t.Resources.IamRoleLambdaExecution.Properties.Policies[0].PolicyDocument.Statement.push({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }); }, 'unexpected actions "s3:GetObject"'],
    ['a managed policy', {}, (t) => { t.Resources.IamRoleLambdaExecution.Properties.ManagedPolicyArns = ['arn:aws:iam::aws:policy/AdministratorAccess']; }, 'has managed policies'],
    ['a table write', { store: 'dynamodb' }, (t) => { t.Resources.GrantTableReadPolicy.Properties.PolicyDocument.Statement[0].Action.push('dynamodb:PutItem'); }, 'dynamodb:PutItem is not a read the broker needs'],
    ['dynamodb:* on the table', { store: 'dynamodb' }, (t) => { t.Resources.GrantTableReadPolicy.Properties.PolicyDocument.Statement[0].Action = ['dynamodb:*']; }, 'wildcard action'],
    ['a table read on "*"', { store: 'dynamodb' }, (t) => { t.Resources.GrantTableReadPolicy.Properties.PolicyDocument.Statement[0].Resource = '*'; }, 'is not the grant table\'s ARN'],
    ['no table read with the DynamoDB store', { store: 'dynamodb' }, (t) => { delete t.Resources.GrantTableReadPolicy; }, 'no read access to the grant table'],
    ['a table read with the YAML store', {}, (t) => { delete t.Resources.GrantTableReadPolicy.Condition; }, 'DynamoDB access with the "yaml" store'],
    ['no point-in-time recovery', { store: 'dynamodb' }, (t) => { t.Resources.GrantTable.Properties.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled = false; }, 'point-in-time recovery'],
    ['no deletion protection', { store: 'dynamodb' }, (t) => { delete t.Resources.GrantTable.Properties.DeletionProtectionEnabled; }, 'DeletionProtectionEnabled'],
    ['provisioned capacity', { store: 'dynamodb' }, (t) => { t.Resources.GrantTable.Properties.BillingMode = 'PROVISIONED'; }, 'BillingMode PAY_PER_REQUEST'],
    ['a sort key', { store: 'dynamodb' }, (t) => { t.Resources.GrantTable.Properties.KeySchema.push({ AttributeName: 'sk', KeyType: 'RANGE' }); }, 'KeySchema: pk HASH only'],
    ['a table dropped on stack delete', { store: 'dynamodb' }, (t) => { delete t.Resources.GrantTable.DeletionPolicy; }, 'DeletionPolicy Retain'],
    ['BROKER_GRANT_TABLE naming another table', { store: 'dynamodb' }, (t) => { t.Resources.UploadsLambdaFunction.Properties.Environment.Variables.BROKER_GRANT_TABLE = 'other'; }, 'is not the grant table\'s name'],
    ['a variable not passed through', {}, (t) => { delete t.Resources.HealthLambdaFunction.Properties.Environment.Variables.BROKER_GRANT_STORE_MAX_STALENESS_SECONDS; }, 'HealthLambdaFunction: BROKER_GRANT_STORE_MAX_STALENESS_SECONDS'],
    ['functions on different stores', {}, (t) => { t.Resources.HealthLambdaFunction.Properties.Environment.Variables.BROKER_GRANT_STORE = 'dynamodb'; }, 'functions disagree on BROKER_GRANT_STORE'],
    ['the Text log format', {}, (t) => { t.Resources.CredentialsLambdaFunction.Properties.LoggingConfig.LogFormat = 'Text'; }, 'CredentialsLambdaFunction: LoggingConfig.LogFormat must be JSON'],
    ['no logging configuration', {}, (t) => { delete t.Resources.UploadsLambdaFunction.Properties.LoggingConfig; }, 'UploadsLambdaFunction: LoggingConfig.LogFormat must be JSON'],
    ['an application log level of WARN', {}, (t) => { t.Resources.UploadsLambdaFunction.Properties.LoggingConfig.ApplicationLogLevel = 'WARN'; }, 'UploadsLambdaFunction: LoggingConfig.ApplicationLogLevel "WARN" drops the INFO audit lines'],
    ['tracing on without the flag', {}, (t) => { t.Resources.HealthLambdaFunction.Properties.TracingConfig = { Mode: 'Active' }; }, 'HealthLambdaFunction: TracingConfig.Mode "Active" but STS_BROKER_TRACING is "false"'],
    ['X-Ray writes with tracing off', {}, (t) => { t.Resources.IamRoleLambdaExecution.Properties.Policies[0].PolicyDocument.Statement.push({ Effect: 'Allow', Action: ['xray:PutTraceSegments'], Resource: '*' }); }, 'X-Ray access with tracing off'],
    ['no access logs', {}, (t) => { delete t.Resources.HttpApiStage.Properties.AccessLogSettings; }, 'HttpApiStage: no AccessLogSettings'],
    ['access logs without the request id', {}, (t) => { t.Resources.HttpApiStage.Properties.AccessLogSettings.Format = '{"status":"$context.status"}'; }, 'lacks $context.requestId'],
    ['access logs with a header', {}, (t) => { t.Resources.HttpApiStage.Properties.AccessLogSettings.Format = '{"requestId":"$context.requestId","auth":"$request.header.Authorization"}'; }, 'logs headers'],
    ['an access log group kept forever', {}, (t) => { delete t.Resources.HttpApiLogGroup.Properties.RetentionInDays; }, 'has no retention'],
    ['no 5xx alarm', {}, (t) => { delete t.Resources.AlarmServerErrorRate; }, 'no 5xx rate alarm'],
    ['no p99 alarm', {}, (t) => { t.Resources.AlarmLatencyP99.Properties.ExtendedStatistic = 'p50'; }, 'no p99 latency alarm'],
    ['no sts_throttled alarm', {}, (t) => { delete t.Resources.AlarmStsThrottled; }, 'no sts_throttled alarm'],
    ['no grant_store_unavailable alarm', {}, (t) => { delete t.Resources.AlarmGrantStoreUnavailable; }, 'no grant_store_unavailable alarm'],
    ['an alarm that notifies nobody', {}, (t) => { delete t.Resources.AlarmPartnerRoleNotAssumable.Properties.AlarmActions; }, 'AlarmPartnerRoleNotAssumable: AlarmActions must notify the AlarmTopicArn parameter'],
    ['no SNS topic parameter', {}, (t) => { delete t.Parameters; t.Conditions.HasAlarmTopic = { 'Fn::Equals': ['', 'x'] }; }, 'no AlarmTopicArn parameter'],
    ['no execution role output', {}, (t) => { delete t.Outputs.ExecutionRoleArn; }, 'no ExecutionRoleArn output'],
    ['no table name output', { store: 'dynamodb' }, (t) => { delete t.Outputs.GrantTableName; }, 'no GrantTableName output'],
    ['the doctor statement naming an account root', { doctor: OPERATORS }, (t) => { doctor(t).Principal.AWS = 'arn:aws:iam::999999999999:root'; }, 'principal "arn:aws:iam::999999999999:root" is not one role ARN'],
    ['the doctor statement naming a bare account id', { doctor: OPERATORS }, (t) => { doctor(t).Principal.AWS = '999999999999'; }, 'principal "999999999999" is not one role ARN'],
    ['the doctor statement naming "*"', { doctor: OPERATORS }, (t) => { doctor(t).Principal = '*'; }, 'principal "*" is neither Lambda nor one role'],
    ['the doctor statement naming AWS "*"', { doctor: OPERATORS }, (t) => { doctor(t).Principal.AWS = '*'; }, 'principal "*" is not one role ARN'],
    ['the doctor statement naming a wildcard role', { doctor: OPERATORS }, (t) => { doctor(t).Principal.AWS = 'arn:aws:iam::999999999999:role/*'; }, 'is not one role ARN'],
    ['the doctor statement naming a user', { doctor: OPERATORS }, (t) => { doctor(t).Principal.AWS = 'arn:aws:iam::999999999999:user/alice'; }, 'is not one role ARN'],
    ['the doctor statement naming two roles', { doctor: OPERATORS }, (t) => { doctor(t).Principal.AWS = [OPERATORS, 'arn:aws:iam::999999999999:role/other']; }, 'names 2 principals'],
    ['the doctor statement with another action', { doctor: OPERATORS }, (t) => { doctor(t).Action = ['sts:AssumeRole', 'sts:TagSession']; }, 'actions ["sts:AssumeRole","sts:TagSession"] (only sts:AssumeRole)'],
    ['two doctor statements', { doctor: OPERATORS }, (t) => { trust(t).Statement.push({ ...doctor(t), Principal: { AWS: 'arn:aws:iam::999999999999:role/other' } }); }, '2 OperatorsRunDoctor statements (at most one)'],
    ['an AWS principal under another Sid', {}, (t) => { trust(t).Statement.push({ Sid: 'Ops', Effect: 'Allow', Principal: { AWS: OPERATORS }, Action: 'sts:AssumeRole' }); }, 'is neither Lambda nor the OperatorsRunDoctor statement'],
    ['another service in the trust', {}, (t) => { trust(t).Statement[0].Principal.Service = ['lambda.amazonaws.com', 'ec2.amazonaws.com']; }, 'service principal ["lambda.amazonaws.com","ec2.amazonaws.com"] (only lambda.amazonaws.com)'],
    ['a federated principal in the trust', {}, (t) => { trust(t).Statement.push({ Effect: 'Allow', Principal: { Federated: 'cognito-identity.amazonaws.com' }, Action: 'sts:AssumeRoleWithWebIdentity' }); }, 'is neither Lambda nor the OperatorsRunDoctor statement'],
    ['NotPrincipal in the trust', {}, (t) => { trust(t).Statement.push({ Effect: 'Allow', NotPrincipal: { AWS: OPERATORS }, Action: 'sts:AssumeRole' }); }, 'NotPrincipal is not allowed'],
    ['no Lambda in the trust', {}, (t) => { trust(t).Statement = []; }, 'no lambda.amazonaws.com statement'],
    ['no trust policy', {}, (t) => { delete t.Resources.IamRoleLambdaExecution.Properties.AssumeRolePolicyDocument; }, 'IamRoleLambdaExecution trust: no AssumeRolePolicyDocument'],
    ['a grant-store tuning variable not passed through', {}, (t) => { delete t.Resources.UploadsLambdaFunction.Properties.Environment.Variables.BROKER_DYNAMODB_MAX_ATTEMPTS; }, 'UploadsLambdaFunction: BROKER_DYNAMODB_MAX_ATTEMPTS'],
    ['an unknown condition', {}, (t) => { t.Resources.GrantTable.Condition = 'Nope'; t.Conditions.Other = { Condition: 'Nope' }; }, 'template conditions: unknown condition Nope'],
  ];

  it.each(cases)('%s', (_name, options, breakIt, finding) => {
    const t = copy(template(options));
    breakIt(t);
    expect(problemsOf(t).join('\n')).toContain(finding);
  });
});

/**
 * A minimal zip writer for fixtures: stored or deflated entries, as serverless-esbuild writes them
 * (CRC fields left 0: the reader under test does not use them).
 */
function zip(files: Array<{ name: string; text: string; deflate?: boolean }>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const f of files) {
    const name = Buffer.from(f.name);
    const data = Buffer.from(f.text);
    const body = f.deflate === false ? data : deflateRawSync(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(f.deflate === false ? 0 : 8, 8);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(f.deflate === false ? 0 : 8, 10);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += 30 + name.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

describe('zipEntries', () => {
  it('reads stored and deflated entries back byte for byte', () => {
    const text = 'export const handler = () => 1;\n'.repeat(200);
    const entries = zipEntries(zip([{ name: 'config/broker.yaml', text: 'partners: {}\n', deflate: false }, { name: 'handlers/credentials.mjs', text }]));
    expect(entries.map((e) => [e.name, e.data.toString()])).toEqual([['config/broker.yaml', 'partners: {}\n'], ['handlers/credentials.mjs', text]]);
  });

  it('refuses what is not a zip, naming the archive', () => {
    expect(() => zipEntries(Buffer.from('not a zip at all, just some bytes'), 'credentials.zip'))
      .toThrow('credentials.zip: not a zip archive (no end-of-central-directory record)');
  });
});

/** A function artifact: the bundle, with or without the X-Ray SDK's marker string (and the SDK default chain's). */
const artifact = (xray: boolean, defaultChain = false) => zip([
  { name: 'config/broker.example.yaml', text: 'partners: {}\n' },
  { name: 'handlers/fn.mjs', text: `var a=process.env.X;${xray ? 'var b=process.env.AWS_XRAY_CONTEXT_MISSING;' : ''}${defaultChain ? 'var c="AWS_PROFILE is set, skipping fromEnv provider.";' : ''}export{a};` },
]);

describe('scripts/check-package, run as CI runs it', () => {
  const run = promisify(execFile);
  async function checkPackage(t: Obj | string, zips: string[], xray = false, defaultChain = false) {
    const dir = await mkdtemp(join(tmpdir(), 'check-package-'));
    try {
      await writeFile(join(dir, 'template.json'), typeof t === 'string' ? t : JSON.stringify(t));
      for (const z of zips) await writeFile(join(dir, z), artifact(xray, defaultChain));
      const out = await run('bash', ['scripts/check-package', '--template', join(dir, 'template.json')], { timeout: 50_000 })
        .then((r) => ({ code: 0, ...r }), (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }));
      return out;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const zips = FUNCTIONS.map((n) => `${n.toLowerCase()}.zip`);

  it('passes a good template and lists each artifact; exit 1 listing every finding otherwise', async () => {
    const ok = await checkPackage(template({ store: 'dynamodb' }), zips);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('grant table GrantTable "sts-broker-prod-grants": on demand, PITR, deletion protection, retained, pk only');
    expect(ok.stdout).toMatch(/artifact credentials\.zip: \d+ bytes \(zip\)/);
    expect(ok.stdout).toContain('tracing: X-Ray SDK in no bundle');

    const bad = copy(template());
    stsStatement(bad).Resource = '*';
    delete bad.Resources.HttpApiStage.Properties.AccessLogSettings;
    const failed = await checkPackage(bad, zips.slice(1));
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('a bare "*" resource');
    expect(failed.stderr).toContain('HttpApiStage: no AccessLogSettings');
    expect(failed.stderr).toContain('CredentialsLambdaFunction: artifact credentials.zip is missing');
  }, 60_000);

  it('the tracing flag reached the bundles: X-Ray only in traced builds, and there for sure', async () => {
    const traced = await checkPackage(template({ tracing: true }), zips, true);
    expect(traced.code).toBe(0);
    expect(traced.stdout).toContain('tracing: X-Ray SDK in the traced bundles');
    const leaked = await checkPackage(template(), zips, true);
    expect(leaked.code).toBe(1);
    expect(leaked.stderr).toContain('tracing is off but the X-Ray SDK is in credentials.zip, health.zip, uploads.zip');
    const missing = await checkPackage(template({ tracing: true }), zips, false);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('tracing is on but no bundle carries the X-Ray SDK');
  }, 90_000);

  it('no bundle carries the SDK\'s default credential chain (the esbuild alias reached the build)', async () => {
    const ok = await checkPackage(template(), zips);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('credentials: no bundle carries the SDK\'s default chain');
    const chained = await checkPackage(template(), zips, false, true);
    expect(chained.code).toBe(1);
    expect(chained.stderr).toMatch(/CredentialsLambdaFunction: credentials\.zip carries the SDK's default credential chain/);
  }, 90_000);

  it('a template that is not JSON is a finding, not a crash', async () => {
    const out = await checkPackage('{', []);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/template\.json is not JSON/);
  }, 60_000);
});
