/**
 * The packaged CloudFormation template's security and operations properties, checked the way
 * `scripts/check-package` runs them after `npm run package`. Pure: a template in, findings out,
 * so tests hand it real and deliberately broken templates.
 *
 * What it proves (each a finding when violated):
 * - the execution role: sts:AssumeRole, sts:TagSession and sts:SetSourceIdentity only, never on a
 *   bare "*" nor any wildcard except the DynamoDB store's role-path rule
 *   (`arn:<partition>:iam::<account|*>:role/sts-broker/*`); the grant table read with named
 *   actions (GetItem, BatchGetItem) on the table itself, never a write; X-Ray writes only with
 *   tracing on; its logs; nothing else (no managed policy, no NotAction/NotResource);
 * - the execution role's trust: Lambda, and at most the `OperatorsRunDoctor` statement naming exactly
 *   one role ARN (account id, no wildcard) for sts:AssumeRole only; never an account, `*`, a user,
 *   a federated or service principal other than Lambda, nor NotPrincipal;
 * - the grant table (DynamoDB store only): on-demand, point-in-time recovery, deletion protection,
 *   retained, `pk` string hash key only;
 * - every function: the tuning and store variables passed through, the JSON log format with an
 *   application log level of INFO or below (above it Lambda drops the audit lines), tracing as the
 *   package-time flag says;
 * - the HTTP API's access logs (request id, their own log group with a retention);
 * - the five alarms with the optional SNS topic parameter, and the outputs operators need.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = { [key: string]: Json };

export interface TemplateReport {
  problems: string[];
  /** One line per area that passed, for the tool's output. */
  summary: string[];
}

/** Variables every function must receive (set at package time; empty means the broker's default). */
export const PASS_THROUGH_ENV = [
  'BROKER_STS_TIMEOUT_MS', 'BROKER_STS_MAX_ATTEMPTS', 'BROKER_JWKS_TIMEOUT_MS', 'BROKER_JWKS_MAX_BYTES',
  'BROKER_SESSION_CACHE_ENTRIES', 'LOG_LEVEL',
  'BROKER_GRANT_STORE', 'BROKER_GRANT_TABLE', 'BROKER_DYNAMODB_ENDPOINT', 'BROKER_GRANT_STORE_MAX_STALENESS_SECONDS',
  'BROKER_GRANT_CACHE_ENTRIES', 'BROKER_GRANT_NEGATIVE_CACHE_ENTRIES', 'BROKER_DYNAMODB_TIMEOUT_MS', 'BROKER_DYNAMODB_MAX_ATTEMPTS',
  'STS_BROKER_TRACING', 'BROKER_METRICS_PARTNER_DIMENSION', 'POWERTOOLS_LOGGER_SAMPLE_RATE',
] as const;

export const STS_ACTIONS = ['sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession'] as const;
export const TABLE_READ_ACTIONS = ['dynamodb:BatchGetItem', 'dynamodb:GetItem'] as const;
const XRAY_ACTIONS = ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'];
/** Lambda's application log levels that keep INFO lines (the audit lines' level). */
const LEVELS_KEEPING_INFO = ['TRACE', 'DEBUG', 'INFO'];
/** The error codes with an alarm on the broker's Refusals metric. */
export const REFUSAL_ALARMS = ['partner_role_not_assumable', 'sts_throttled', 'grant_store_unavailable'] as const;

const PARTITION = '(aws|aws-cn|aws-us-gov)';
/** A full role ARN: account id, no wildcard (`*` and `?` are not in IAM's name/path charset). */
const EXACT_ROLE = new RegExp(`^arn:${PARTITION}:iam::\\d{12}:role\\/[\\w+=,.@/-]+$`);
/** The DynamoDB store's role-path rule: one account (or every account: "*") and the fixed path. */
const PATH_ROLE = new RegExp(`^arn:${PARTITION}:iam::(\\d{12}|\\*):role\\/sts-broker\\/\\*$`);

const isObj = (v: Json | undefined): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: Json | undefined): Json[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const same = (a: Json | undefined, b: Json): boolean => JSON.stringify(a) === JSON.stringify(b);
const show = (v: Json | undefined): string => JSON.stringify(v) ?? 'undefined';

/** Evaluates the template's Conditions (Equals, Not, And, Or, Condition; Ref to a parameter's Default). */
export function evaluateConditions(template: Obj): Map<string, boolean> {
  const conditions = isObj(template.Conditions) ? template.Conditions : {};
  const parameters = isObj(template.Parameters) ? template.Parameters : {};
  const done = new Map<string, boolean>();
  const value = (v: Json): Json => {
    if (isObj(v) && typeof v.Ref === 'string') {
      const p = parameters[v.Ref];
      if (!isObj(p) || p.Default === undefined) throw new Error(`condition refers to ${v.Ref}, which is not a parameter with a default`);
      return p.Default;
    }
    return v;
  };
  const evaluate = (v: Json, seen: string[]): boolean => {
    if (!isObj(v)) throw new Error(`cannot evaluate condition ${show(v)}`);
    const [[fn, args]] = Object.entries(v) as [[string, Json]];
    const a = list(args);
    switch (fn) {
      case 'Fn::Equals': return same(value(a[0]!), value(a[1]!));
      case 'Fn::Not': return !evaluate(a[0]!, seen);
      case 'Fn::And': return a.every((x) => evaluate(x, seen));
      case 'Fn::Or': return a.some((x) => evaluate(x, seen));
      case 'Condition': return named(String(args), seen);
      default: throw new Error(`cannot evaluate condition function ${fn}`);
    }
  };
  const named = (name: string, seen: string[]): boolean => {
    if (done.has(name)) return done.get(name)!;
    if (seen.includes(name)) throw new Error(`condition ${name} refers to itself`);
    const body = conditions[name];
    if (body === undefined) throw new Error(`unknown condition ${name}`);
    const result = evaluate(body, [...seen, name]);
    done.set(name, result);
    return result;
  };
  for (const name of Object.keys(conditions)) named(name, []);
  return done;
}

/** The resources CloudFormation would create: those without a Condition or whose condition holds. */
export function activeResources(template: Obj): Record<string, Obj> {
  const conditions = evaluateConditions(template);
  const resources = isObj(template.Resources) ? template.Resources : {};
  return Object.fromEntries(Object.entries(resources).filter((entry): entry is [string, Obj] => {
    const r = entry[1];
    return isObj(r) && (typeof r.Condition !== 'string' || conditions.get(r.Condition) === true);
  }));
}

const refTo = (v: Json | undefined, id: string): boolean => isObj(v) && v.Ref === id;
const getAttArn = (v: Json | undefined, id: string): boolean => isObj(v) && same(v['Fn::GetAtt'], [id, 'Arn']);

/** Checks a packaged template; never throws on a malformed one (that is a finding too). */
export function checkTemplate(template: Json): TemplateReport {
  const problems: string[] = [];
  const summary: string[] = [];
  if (!isObj(template)) return { problems: ['the template is not a JSON object'], summary };
  let resources: Record<string, Obj>;
  try {
    resources = activeResources(template);
  } catch (err) {
    return { problems: [`template conditions: ${(err as Error).message}`], summary };
  }
  const props = (r: Obj | undefined): Obj => (r !== undefined && isObj(r.Properties) ? r.Properties : {});
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

  // --- functions: one store, one tracing flag, the variables, the log configuration
  const functions = ofType('AWS::Lambda::Function');
  if (functions.length === 0) problems.push('no Lambda functions in the template');
  const envOf = (r: Obj): Obj => {
    const e = props(r).Environment;
    return isObj(e) && isObj(e.Variables) ? e.Variables : {};
  };
  const missingEnv = functions.flatMap(([id, r]) => PASS_THROUGH_ENV.filter((v) => !(v in envOf(r))).map((v) => `${id}: ${v}`));
  if (missingEnv.length) problems.push(`environment not passed through: ${missingEnv.join(', ')}`);
  const stores = new Set(functions.map(([, r]) => envOf(r).BROKER_GRANT_STORE));
  const tracings = new Set(functions.map(([, r]) => envOf(r).STS_BROKER_TRACING));
  if (stores.size > 1) problems.push(`functions disagree on BROKER_GRANT_STORE: ${[...stores].map(show).join(', ')}`);
  if (tracings.size > 1) problems.push(`functions disagree on STS_BROKER_TRACING: ${[...tracings].map(show).join(', ')}`);
  const store = [...stores][0];
  const tracing = [...tracings][0] === 'true';
  if (store !== undefined && store !== 'yaml' && store !== 'dynamodb') problems.push(`BROKER_GRANT_STORE is ${show(store)}, not yaml or dynamodb`);
  const dynamo = store === 'dynamodb';
  for (const [id, r] of functions) {
    const logging = props(r).LoggingConfig;
    if (!isObj(logging) || logging.LogFormat !== 'JSON') {
      problems.push(`${id}: LoggingConfig.LogFormat must be JSON (got ${show(isObj(logging) ? logging.LogFormat : undefined)})`);
    } else if (typeof logging.ApplicationLogLevel !== 'string' || !LEVELS_KEEPING_INFO.includes(logging.ApplicationLogLevel)) {
      problems.push(`${id}: LoggingConfig.ApplicationLogLevel ${show(logging.ApplicationLogLevel)} drops the INFO audit lines (must be ${LEVELS_KEEPING_INFO.join(', ')})`);
    }
    const mode = isObj(props(r).TracingConfig) ? (props(r).TracingConfig as Obj).Mode : undefined;
    if ((mode === 'Active') !== tracing) problems.push(`${id}: TracingConfig.Mode ${show(mode)} but STS_BROKER_TRACING is ${show(envOf(r).STS_BROKER_TRACING)}`);
  }
  if (functions.length > 0) {
    summary.push(`functions: ${functions.length}, ${PASS_THROUGH_ENV.length} variables passed through, JSON logs at ${[...new Set(functions.map(([, r]) => show((props(r).LoggingConfig as Obj | undefined)?.ApplicationLogLevel)))].join('/')}, store ${show(store)}, tracing ${tracing ? 'on' : 'off'}`);
  }

  // --- the grant table
  const tables = ofType('AWS::DynamoDB::Table');
  const tableId = tables[0]?.[0];
  if (!dynamo && tables.length > 0) problems.push(`a DynamoDB table (${tables.map(([id]) => id).join(', ')}) with the ${show(store)} store`);
  if (dynamo) {
    if (tables.length !== 1) {
      problems.push(`the DynamoDB store needs exactly one grant table (found ${tables.length})`);
    } else {
      const [id, table] = tables[0]!;
      const p = props(table);
      const want: Array<[string, boolean]> = [
        ['BillingMode PAY_PER_REQUEST (on demand)', p.BillingMode === 'PAY_PER_REQUEST'],
        ['point-in-time recovery', isObj(p.PointInTimeRecoverySpecification) && p.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled === true],
        ['DeletionProtectionEnabled', p.DeletionProtectionEnabled === true],
        ['DeletionPolicy Retain', table.DeletionPolicy === 'Retain'],
        ['UpdateReplacePolicy Retain', table.UpdateReplacePolicy === 'Retain'],
        ['KeySchema: pk HASH only', same(p.KeySchema, [{ AttributeName: 'pk', KeyType: 'HASH' }])],
        ['AttributeDefinitions: pk S only', same(p.AttributeDefinitions, [{ AttributeName: 'pk', AttributeType: 'S' }])],
        ['no secondary index', p.GlobalSecondaryIndexes === undefined && p.LocalSecondaryIndexes === undefined],
      ];
      for (const [what, ok] of want) if (!ok) problems.push(`grant table ${id}: ${what}`);
      const names = new Set(functions.map(([, r]) => envOf(r).BROKER_GRANT_TABLE));
      if (names.size !== 1 || !same([...names][0], p.TableName ?? null)) {
        problems.push(`BROKER_GRANT_TABLE (${[...names].map(show).join(', ')}) is not the grant table's name ${show(p.TableName)}`);
      }
      summary.push(`grant table ${id} ${show(p.TableName)}: on demand, PITR, deletion protection, retained, pk only`);
    }
  }

  // --- the execution role: every statement that reaches it
  const roleId = 'IamRoleLambdaExecution';
  const role = resources[roleId];
  const statements: Array<{ from: string; s: Obj }> = [];
  if (!role) {
    problems.push(`no ${roleId} in the template`);
  } else {
    for (const p of list(props(role).Policies)) {
      if (isObj(p) && isObj(p.PolicyDocument)) for (const s of list(p.PolicyDocument.Statement)) if (isObj(s)) statements.push({ from: `${roleId} ${show(p.PolicyName)}`, s });
    }
    if (props(role).ManagedPolicyArns !== undefined && list(props(role).ManagedPolicyArns).length > 0) problems.push(`${roleId} has managed policies ${show(props(role).ManagedPolicyArns)}`);
    if (props(role).PermissionsBoundary !== undefined) summary.push(`${roleId} has a permissions boundary`);
  }
  for (const [id, r] of ofType('AWS::IAM::Policy')) {
    if (!list(props(r).Roles).some((x) => refTo(x, roleId))) continue;
    const doc = props(r).PolicyDocument;
    if (isObj(doc)) for (const s of list(doc.Statement)) if (isObj(s)) statements.push({ from: id, s });
  }
  for (const [id, r] of ofType('AWS::IAM::ManagedPolicy')) {
    if (list(props(r).Roles).some((x) => refTo(x, roleId))) problems.push(`${id}: a managed policy attached to ${roleId}`);
  }
  if (role) problems.push(...checkTrust(props(role).AssumeRolePolicyDocument, summary));
  const roleArns: string[] = [];
  let tableStatements = 0;
  for (const { from, s } of statements) {
    const where = `${from} statement ${show(s.Sid ?? s.Action)}`;
    for (const key of ['NotAction', 'NotResource', 'NotPrincipal']) if (key in s) problems.push(`${where}: ${key} is not allowed`);
    if (s.Effect !== 'Allow') continue;
    const actions = list(s.Action).map(String);
    const resourcesOf = list(s.Resource);
    if (actions.some((a) => a.includes('*'))) problems.push(`${where}: wildcard action ${show(s.Action)}`);
    const kinds = new Set(actions.map((a) => a.split(':')[0]));
    if (kinds.size !== 1) { problems.push(`${where}: mixes services ${show(s.Action)}`); continue; }
    const [service] = [...kinds];
    if (service === 'sts') {
      for (const a of actions) if (!(STS_ACTIONS as readonly string[]).includes(a)) problems.push(`${where}: unexpected STS action ${a}`);
      if (resourcesOf.length === 0) problems.push(`${where}: no resource`);
      for (const r of resourcesOf) {
        if (typeof r !== 'string') { problems.push(`${where}: resource ${show(r)} is not a literal role ARN`); continue; }
        if (r === '*') { problems.push(`${where}: a bare "*" resource`); continue; }
        if (EXACT_ROLE.test(r)) roleArns.push(r);
        else if (PATH_ROLE.test(r) && dynamo) roleArns.push(r);
        else if (PATH_ROLE.test(r)) problems.push(`${where}: the role-path rule ${r} without the DynamoDB store`);
        else problems.push(`${where}: resource ${r} is neither a full role ARN (account id, no wildcard) nor arn:<partition>:iam::<account>:role/sts-broker/*`);
      }
      if ('Condition' in s) problems.push(`${where}: the STS statement must not depend on a condition (checked as unconditional)`);
    } else if (service === 'dynamodb') {
      tableStatements += 1;
      if (!dynamo) problems.push(`${where}: DynamoDB access with the ${show(store)} store`);
      for (const a of actions) if (!(TABLE_READ_ACTIONS as readonly string[]).includes(a)) problems.push(`${where}: ${a} is not a read the broker needs (only ${TABLE_READ_ACTIONS.join(', ')})`);
      if (resourcesOf.length === 0) problems.push(`${where}: no resource`);
      for (const r of resourcesOf) if (!(tableId !== undefined && getAttArn(r, tableId))) problems.push(`${where}: resource ${show(r)} is not the grant table's ARN`);
    } else if (service === 'xray') {
      if (!tracing) problems.push(`${where}: X-Ray access with tracing off`);
      for (const a of actions) if (!XRAY_ACTIONS.includes(a)) problems.push(`${where}: unexpected X-Ray action ${a}`);
    } else if (service !== 'logs') {
      problems.push(`${where}: unexpected actions ${show(s.Action)}`);
    }
  }
  if (roleArns.length === 0) problems.push('the execution role may assume no partner role');
  if (dynamo && tableStatements === 0) problems.push('the DynamoDB store but no read access to the grant table');
  if (roleArns.length > 0) summary.push(`execution role: ${STS_ACTIONS.join(', ')} on ${roleArns.join(', ')}${dynamo ? `; ${TABLE_READ_ACTIONS.filter((a) => statements.some(({ s }) => list(s.Action).includes(a))).join(', ')} on the grant table` : ''}`);

  // --- HTTP API access logs
  const stages = ofType('AWS::ApiGatewayV2::Stage');
  if (stages.length === 0) problems.push('no HTTP API stage');
  for (const [id, stage] of stages) {
    const settings = props(stage).AccessLogSettings;
    if (!isObj(settings)) { problems.push(`${id}: no AccessLogSettings (HTTP API access logs)`); continue; }
    const format = typeof settings.Format === 'string' ? settings.Format : '';
    if (!format.includes('$context.requestId')) problems.push(`${id}: the access log format lacks $context.requestId`);
    if (/authorization|\$context\.authorizer|header|\$input/i.test(format)) problems.push(`${id}: the access log format logs headers or authorizer data`);
    const dest = isObj(settings.DestinationArn) ? settings.DestinationArn['Fn::GetAtt'] : undefined;
    const groupId = Array.isArray(dest) && dest[1] === 'Arn' ? String(dest[0]) : undefined;
    const group = groupId === undefined ? undefined : resources[groupId];
    if (!group || group.Type !== 'AWS::Logs::LogGroup') problems.push(`${id}: access logs do not go to a log group of this stack`);
    else if (typeof props(group).RetentionInDays !== 'number') problems.push(`${id}: the access log group ${groupId} has no retention`);
    else summary.push(`access logs: ${id} → ${groupId} ${show(props(group).LogGroupName)}, ${props(group).RetentionInDays} days, with the request id`);
  }

  // --- alarms, always present, with the optional SNS topic
  const alarms = ofType('AWS::CloudWatch::Alarm').map(([id, r]) => ({ id, p: props(r) }));
  const parameters = isObj(template.Parameters) ? template.Parameters : {};
  if (!isObj(parameters.AlarmTopicArn)) problems.push('no AlarmTopicArn parameter (the optional SNS topic for alarm actions)');
  const metricsOf = (p: Obj): Obj[] => list(p.Metrics).filter(isObj);
  const statOf = (m: Obj): Obj | undefined => (isObj(m.MetricStat) && isObj(m.MetricStat.Metric) ? m.MetricStat.Metric : undefined);
  const apiMetric = (p: Obj, name: string) => p.Namespace === 'AWS/ApiGateway' && p.MetricName === name
    || metricsOf(p).some((m) => statOf(m)?.Namespace === 'AWS/ApiGateway' && statOf(m)?.MetricName === name);
  const expected: Array<[string, (p: Obj) => boolean]> = [
    ['5xx rate', (p) => apiMetric(p, '5xx') && apiMetric(p, 'Count')],
    ['p99 latency', (p) => apiMetric(p, 'Latency') && p.ExtendedStatistic === 'p99'],
    ...REFUSAL_ALARMS.map((code): [string, (p: Obj) => boolean] => [code, (p) => metricsOf(p).some((m) =>
      typeof m.Expression === 'string' && /\bSUM\(Refusals\) FROM "?StsBroker"?/.test(m.Expression) && m.Expression.includes(`ErrorCode = '${code}'`))]),
  ];
  const topicAction: Json = { 'Fn::If': ['HasAlarmTopic', [{ Ref: 'AlarmTopicArn' }], { Ref: 'AWS::NoValue' }] };
  for (const [what, matches] of expected) {
    const found = alarms.filter((a) => matches(a.p));
    if (found.length === 0) { problems.push(`no ${what} alarm`); continue; }
    for (const a of found) if (!same(a.p.AlarmActions, topicAction)) problems.push(`${a.id}: AlarmActions must notify the AlarmTopicArn parameter when it is set`);
  }
  if (alarms.length > 0) summary.push(`alarms: ${alarms.map((a) => a.id).join(', ')}`);

  // --- outputs
  const outputs = isObj(template.Outputs) ? template.Outputs : {};
  const conditions = evaluateConditions(template);
  const output = (name: string): Obj | undefined => {
    const o = outputs[name];
    return isObj(o) && (typeof o.Condition !== 'string' || conditions.get(o.Condition) === true) ? o : undefined;
  };
  if (!output('HttpApiUrl')) problems.push('no HttpApiUrl output');
  if (!getAttArn(output('ExecutionRoleArn')?.Value, roleId)) problems.push('no ExecutionRoleArn output (the execution role ARN partners trust)');
  if (dynamo && tableId !== undefined && !refTo(output('GrantTableName')?.Value, tableId)) problems.push('no GrantTableName output for the grant table');
  if (!dynamo && output('GrantTableName')) problems.push(`a GrantTableName output with the ${show(store)} store`);
  summary.push(`outputs: ${['HttpApiUrl', 'ExecutionRoleArn', 'GrantTableName'].filter((n) => output(n)).join(', ')}`);

  return { problems, summary };
}

/** The one statement besides Lambda's the execution role's trust may hold (BROKER_DOCTOR_PRINCIPAL_ARN). */
export const DOCTOR_TRUST_SID = 'OperatorsRunDoctor';

/**
 * The execution role's trust policy: Lambda's statement (the functions run as the role), and at most
 * the OperatorsRunDoctor statement, which lets exactly one role (an operators' role, to run doctor)
 * assume it. Whoever assumes the execution role can assume every partner role the broker can, so an
 * account principal (`<id>`, `arn:...:root`: anyone its administrators allow), `*`, a user, a
 * session, a list of roles, a federated or other service principal, or a second such statement is a finding.
 */
export function checkTrust(doc: Json | undefined, summary: string[]): string[] {
  const problems: string[] = [];
  const where = 'IamRoleLambdaExecution trust';
  if (!isObj(doc)) return [`${where}: no AssumeRolePolicyDocument`];
  let lambda = 0;
  const operators: string[] = [];
  for (const s of list(doc.Statement)) {
    if (!isObj(s)) { problems.push(`${where}: statement ${show(s)} is not an object`); continue; }
    const at = `${where} statement ${show(s.Sid ?? s.Principal)}`;
    for (const key of ['NotAction', 'NotPrincipal', 'NotResource']) if (key in s) problems.push(`${at}: ${key} is not allowed`);
    if (s.Effect !== 'Allow') continue;
    const actions = list(s.Action).map(String);
    if (actions.length !== 1 || actions[0] !== 'sts:AssumeRole') problems.push(`${at}: actions ${show(s.Action)} (only sts:AssumeRole)`);
    const principal = s.Principal;
    if (!isObj(principal) || Object.keys(principal).length !== 1) { problems.push(`${at}: principal ${show(principal)} is neither Lambda nor one role`); continue; }
    if (principal.Service !== undefined) {
      const services = list(principal.Service);
      if (services.length === 1 && services[0] === 'lambda.amazonaws.com') lambda += 1;
      else problems.push(`${at}: service principal ${show(principal.Service)} (only lambda.amazonaws.com)`);
      continue;
    }
    const aws = list(principal.AWS);
    if (principal.AWS === undefined || s.Sid !== DOCTOR_TRUST_SID) { problems.push(`${at}: principal ${show(principal)} is neither Lambda nor the ${DOCTOR_TRUST_SID} statement`); continue; }
    if (aws.length !== 1) { problems.push(`${at}: names ${aws.length} principals ${show(principal.AWS)} (exactly one role ARN)`); continue; }
    const arn = aws[0];
    if (typeof arn !== 'string' || !EXACT_ROLE.test(arn)) problems.push(`${at}: principal ${show(arn)} is not one role ARN (an account, "*", a user or a session may not assume the execution role)`);
    else operators.push(arn);
  }
  if (lambda === 0) problems.push(`${where}: no lambda.amazonaws.com statement (the functions could not run as the role)`);
  if (operators.length > 1) problems.push(`${where}: ${operators.length} ${DOCTOR_TRUST_SID} statements (at most one)`);
  if (problems.length === 0) summary.push(`execution role trust: lambda.amazonaws.com${operators.length ? `, and ${operators[0]} (${DOCTOR_TRUST_SID})` : ' only'}`);
  return problems;
}
