// Resolves the execution role's allowed Resources for sts:AssumeRole, sts:TagSession and
// sts:SetSourceIdentity in serverless.yml. Never "*":
// - YAML store (the default): exactly the partner role ARNs the bundled config names, as before.
// - DynamoDB store: partners are added without a deploy, so their ARNs are not known at package time.
//   The broker may then assume roles under the IAM path /sts-broker/ in the accounts listed in
//   BROKER_PARTNER_ACCOUNTS (`arn:aws:iam::<account>:role/sts-broker/*`), plus the exact ARNs of any
//   partners still in the bundled config. A role's path is fixed when the role is created and only
//   an account's own administrators can create roles in it, so the rule cannot be met by accident or
//   widened by a grant-table write: a role outside the path stays unassumable even if a compromised
//   table names it. `BROKER_PARTNER_ACCOUNTS=any` opts in to that path in every account
//   (`arn:aws:iam::*:role/sts-broker/*`); the partner's trust policy (the broker's role ARN and the
//   ExternalId) stays the gate that lets the broker in.
// CommonJS because the framework require()s variable files.
'use strict';
const { existsSync, readFileSync } = require('node:fs');
const { parse } = require('yaml');
const { lib: settings } = require('./serverless-settings.cjs');

/** The IAM path partner roles must live under when the grant store is DynamoDB. */
const PARTNER_ROLE_PATH = '/sts-broker/';

/** aws, aws-cn or aws-us-gov, from the deployment's region. */
function partitionOf(region) {
  if (/^cn-/.test(region)) return 'aws-cn';
  if (/^us-gov-/.test(region)) return 'aws-us-gov';
  return 'aws';
}

/** The exact role ARNs of the config's partners; throws naming the first bad one. */
function configRoleArns({ path, text, local }) {
  const config = parse(text);
  // The local gateway's ARNs have no account id; they are accepted only for local runs.
  const account = local ? '(\\d{12})?' : '\\d{12}';
  const pattern = new RegExp(`^arn:(aws|aws-cn|aws-us-gov):iam::${account}:role\\/[\\w+=,.@/-]+$`);
  return Object.entries(config?.partners ?? {}).map(([name, p]) => {
    const arn = p?.roleArn;
    if (typeof arn !== 'string' || !pattern.test(arn)) {
      throw new Error(`${path}: partners.${name}.roleArn must be a full IAM role ARN with an account id to deploy (got ${JSON.stringify(arn)})`);
    }
    return arn;
  });
}

/**
 * The path-convention ARNs for the DynamoDB store: one per allowed account, `*` for the account
 * only with BROKER_PARTNER_ACCOUNTS=any, an empty account for local runs that list none.
 */
function pathRoleArns({ accounts, partition, local }) {
  const raw = accounts.trim();
  const arn = (account) => `arn:${partition}:iam::${account}:role${PARTNER_ROLE_PATH}*`;
  if (raw === '') {
    if (local) return [arn('')];
    throw new Error('BROKER_PARTNER_ACCOUNTS must list the AWS account ids (comma-separated) whose roles under the IAM path '
      + `${PARTNER_ROLE_PATH} the broker may assume with BROKER_GRANT_STORE=dynamodb, or be "any" for that path in every account`);
  }
  if (raw === 'any') return [arn('*')];
  return raw.split(',').map((a) => a.trim()).map((a) => {
    if (!/^\d{12}$/.test(a)) throw new Error(`BROKER_PARTNER_ACCOUNTS: ${JSON.stringify(a)} is not a 12-digit AWS account id`);
    return arn(a);
  });
}

/** The Resources for the sts: statement (pure: tests call it with their own inputs). */
function roleArns({ store, path, text, accounts = '', region = 'eu-west-1', local = false }) {
  const exact = text === undefined ? [] : configRoleArns({ path, text, local });
  if (store !== 'dynamodb') {
    if (exact.length === 0) throw new Error(`${path}: no partners, so no role the broker may assume`);
    return [...new Set(exact)];
  }
  return [...new Set([...pathRoleArns({ accounts, partition: partitionOf(region), local }), ...exact])];
}

module.exports = async ({ resolveVariable }) => {
  const path = await resolveVariable('self:custom.brokerConfigFile');
  const region = await resolveVariable('self:provider.region');
  const store = settings.grantStore();
  // With the DynamoDB store the bundled file may hold no partners (or not exist yet).
  const text = store === 'dynamodb' && !existsSync(path) ? undefined : readFileSync(path, 'utf8');
  return roleArns({
    store, path, text, region,
    accounts: process.env.BROKER_PARTNER_ACCOUNTS ?? '',
    local: process.env.BROKER_LOCAL_AWS === '1',
  });
};
module.exports.roleArns = roleArns;
module.exports.PARTNER_ROLE_PATH = PARTNER_ROLE_PATH;
