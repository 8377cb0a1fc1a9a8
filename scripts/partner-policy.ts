/**
 * `npm run partner-policy -- <partner> [--config config/broker.yaml] [--broker-role-arn arn:…]`
 * Prints what the partner's admin applies in their account, with the AWS CLI commands to apply it.
 */
import { loadConfigFile } from '../src/config/load.js';
import { partnerSetup } from '../src/policy/partnerSetup.js';

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: npm run partner-policy -- <partner> [--config <broker.yaml>] [--broker-role-arn <arn>]\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const i = args.indexOf(name);
  if (i === -1) return undefined;
  const value = args[i + 1];
  if (value === undefined || value.startsWith('--')) usage(`${name} needs a value`);
  args.splice(i, 2);
  return value;
};
const configPath = option('--config') ?? process.env.BROKER_CONFIG_FILE ?? 'config/broker.yaml';
const brokerRoleArn = option('--broker-role-arn') ?? 'arn:aws:iam::<BROKER_ACCOUNT_ID>:role/sts-broker-<stage>-<region>-lambdaRole';
if (args.length !== 1 || args[0]!.startsWith('-')) usage('name exactly one partner');
const partnerId = args[0]!;

let config;
try {
  config = loadConfigFile(configPath);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
}
const partner = config.partners[partnerId];
if (!partner) {
  process.stderr.write(`no partner "${partnerId}" in ${configPath} (partners: ${Object.keys(config.partners).join(', ')})\n`);
  process.exit(1);
}

const setup = partnerSetup(partnerId, partner, brokerRoleArn);
const roleName = partner.roleArn.split('/').pop();
const show = (title: string, doc: object, apply: string) =>
  console.log(`# ${title}\n# apply: ${apply}\n${JSON.stringify(doc, null, 2)}\n`);

console.log(`# Setup for partner "${partnerId}": role ${partner.roleArn}, bucket ${partner.bucket}\n`);
show('1. Role trust policy (trust-policy.json)', setup.roleTrustPolicy,
  `aws iam update-assume-role-policy --role-name ${roleName} --policy-document file://trust-policy.json`);
show('2. Role permission policy (permissions.json)', setup.rolePermissionPolicy,
  `aws iam put-role-policy --role-name ${roleName} --policy-name sts-broker --policy-document file://permissions.json`);
show('3. Bucket CORS, for browser uploads (cors.json)', setup.bucketCors,
  `aws s3api put-bucket-cors --bucket ${partner.bucket} --cors-configuration file://cors.json`);
show('4. Lifecycle: abort abandoned multipart uploads after a day (lifecycle.json)', setup.bucketLifecycle,
  `aws s3api put-bucket-lifecycle-configuration --bucket ${partner.bucket} --lifecycle-configuration file://lifecycle.json`);
if (brokerRoleArn.includes('<')) console.log('# Replace <BROKER_ACCOUNT_ID>, <stage> and <region> with the broker deployment\'s, or pass --broker-role-arn.');
