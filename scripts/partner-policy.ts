/**
 * `npm run partner-policy -- <partner> [--config <file>] [--broker-role-arn <arn>] [--out <dir>]`
 *
 * Writes what the partner's admin applies in their own account (the role's trust and permission
 * policies, the bucket CORS rule when a client has browser origins, lifecycle rules that abort
 * abandoned multipart uploads under the broker's prefixes) as JSON files into an output folder,
 * with APPLY.md: the AWS CLI commands, a plain warning for each command that REPLACES existing
 * configuration, and how to merge with what is already there first (jq). The same instructions
 * go to stdout; notes (which config was read, origins left out, placeholders) go to stderr.
 *
 * Exit codes: 0 done (or --help), 1 the config is invalid or lacks the partner, or the folder
 * cannot be written, 2 usage error.
 */
import { chmodSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { loadConfigFile } from '../src/config/load.js';
import { ROLE_ARN } from '../src/config/schema.js';
import { NAME } from '../src/rules/identifiers.js';
import { CORS_RULE_ID, LIFECYCLE_RULE_ID_PREFIX, partnerSetup, rolePrefixes, type PartnerSetup } from '../src/rules/partnerSetup.js';
import { runCli, UsageError, type CliSpec } from './lib/cli.js';

const PLACEHOLDER_ROLE_ARN = 'arn:aws:iam::<BROKER_ACCOUNT_ID>:role/sts-broker-<stage>-<region>-lambdaRole';

const SPEC: CliSpec = {
  name: 'partner-policy',
  usage: 'npm run partner-policy -- <partner> [--config <file>] [--broker-role-arn <arn>] [--out <dir>]',
  summary: [
    'Writes what a partner\'s admin applies in their AWS account so the broker can serve them, as JSON',
    'files in a folder, with APPLY.md (also printed): the AWS CLI commands, which of them REPLACE existing',
    'configuration (trust policy, bucket CORS, bucket lifecycle) and how to merge with it first (jq).',
  ],
  positionals: [
    { name: '<partner>', description: 'the partner\'s name in the config' },
  ],
  options: {
    'config': {
      type: 'string', value: '<file>',
      description: 'the broker config (default: $BROKER_CONFIG, else $BROKER_CONFIG_FILE, else config/broker.yaml if it exists, else config/broker.example.yaml; stderr says which was read)',
    },
    'broker-role-arn': {
      type: 'string', value: '<arn>',
      description: `the broker's Lambda execution role ARN, trusted by the partner's role (default: a placeholder, ${PLACEHOLDER_ROLE_ARN}, to replace before applying)`,
    },
    'out': {
      type: 'string', value: '<dir>',
      description: 'the folder for the files (default: ./partner-setup-<partner>); created with mode 0700 if missing, files 0600; this tool\'s files in it are overwritten',
    },
  },
  footer: [
    'Files: trust-policy.json, permissions.json, lifecycle.json, cors.json (only when a client has CORS origins),',
    'bucket-policy.json (statements to merge, only when a client has an upload contract), kms-key-policy-<n>.json',
    '(only for SSE-KMS contracts), APPLY.md.',
    'Exit status: 0 done, 1 the config is invalid or has no such partner, or the folder cannot be written, 2 usage error.',
  ],
};

interface ConfigChoice {
  path: string;
  why: string;
}

/** --config, else $BROKER_CONFIG, else $BROKER_CONFIG_FILE, else config/broker.yaml if it exists, else the example. */
function chooseConfig(explicit: string | undefined, env: NodeJS.ProcessEnv): ConfigChoice {
  if (explicit !== undefined) return { path: explicit, why: '--config' };
  if (env.BROKER_CONFIG) return { path: env.BROKER_CONFIG, why: '$BROKER_CONFIG' };
  if (env.BROKER_CONFIG_FILE) return { path: env.BROKER_CONFIG_FILE, why: '$BROKER_CONFIG_FILE' };
  if (existsSync('config/broker.yaml')) return { path: 'config/broker.yaml', why: 'the default; pass --config <file> for another' };
  return {
    path: 'config/broker.example.yaml',
    why: 'config/broker.yaml does not exist, so the EXAMPLE config; pass --config <file> or set $BROKER_CONFIG for yours',
  };
}

/** A word safe in a POSIX shell command line as it is, else single-quoted. */
function sh(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

/** The trust-policy merge: the current document's statements, minus any with our Sids, plus ours. */
const JQ_TRUST = `jq -s '.[1].Statement as $ours | [$ours[].Sid] as $sids | .[0] | .Statement = ([.Statement] | flatten | map(select((.Sid // null) as $s | any($sids[]; . == $s) | not))) + $ours'`;
const JQ_CORS = `jq -s '{CORSRules: ([.[0].CORSRules[] | select(.ID != "${CORS_RULE_ID}")] + .[1].CORSRules)}'`;
const JQ_BUCKET_POLICY = `jq -s '.[1].Statement as $ours | [$ours[].Sid] as $sids | .[0] | .Statement = ([.Statement] | flatten | map(select((.Sid // null) as $s | any($sids[]; . == $s) | not))) + $ours'`;
const JQ_LIFECYCLE = `jq -s '{Rules: ([.[0].Rules[] | select((.ID // "") | startswith("${LIFECYCLE_RULE_ID_PREFIX}") | not)] + .[1].Rules)}'`;

interface Instructions {
  partnerId: string;
  roleArn: string;
  bucket: string;
  prefixes: string[];
  out: string;
  setup: PartnerSetup;
}

/** APPLY.md: every command, which ones replace existing configuration, and how to merge first. */
function instructions({ partnerId, roleArn, bucket, prefixes, out, setup }: Instructions): string {
  const role = roleArn.split('/').pop()!;
  const kmsFiles = Object.keys(setup.kmsKeyPolicies).map((_, i) => `kms-key-policy-${i + 1}.json`);
  const files = ['trust-policy.json', 'permissions.json', ...(setup.bucketCors ? ['cors.json'] : []), 'lifecycle.json',
    ...(setup.bucketPolicy ? ['bucket-policy.json'] : []), ...kmsFiles];
  const contract = setup.bucketPolicy === undefined ? [] : [
    '',
    '## 5. Bucket policy statements (bucket-policy.json): the upload contracts, for every writer',
    '',
    'These Deny statements hold every writer under the contract clients\' prefixes (the broker\'s sessions, vended',
    'credentials, your own tools) to the contract as far as IAM can state it: write-once (If-None-Match, with',
    'CreateMultipartUpload and UploadPart exempt), no tag keys outside the contract, fixed tag values, the SSE',
    'algorithm and key. It is a document to MERGE: `aws s3api put-bucket-policy` REPLACES the whole bucket policy.',
    '',
    `    aws s3api get-bucket-policy --bucket ${bucket} --query Policy --output text > current-bucket-policy.json`,
    `    ${JQ_BUCKET_POLICY} current-bucket-policy.json bucket-policy.json > merged-bucket-policy.json`,
    '    # review merged-bucket-policy.json, then:',
    `    aws s3api put-bucket-policy --bucket ${bucket} --policy file://merged-bucket-policy.json`,
    '',
    'If get-bucket-policy fails with NoSuchBucketPolicy the bucket has none yet: apply bucket-policy.json itself.',
    'The merge replaces earlier statements with the same Sid and keeps every other one.',
  ];
  const kms = Object.keys(setup.kmsKeyPolicies).length === 0 ? [] : [
    '',
    '## 6. KMS key policies (kms-key-policy-<n>.json): SSE-KMS contracts',
    '',
    'S3 calls KMS as the uploader: the role needs kms:GenerateDataKey (uploads; multipart parts also kms:Decrypt)',
    'and kms:Decrypt (downloads) on the key. permissions.json grants them on the role side; the key policy must',
    'allow them too. Add the statement in each file to that key\'s policy (the key policy has no merge command:',
    'edit it in the console or with get-key-policy / put-key-policy, which REPLACES the whole key policy):',
    '',
    ...Object.keys(setup.kmsKeyPolicies).map((arn, i) => `- kms-key-policy-${i + 1}.json: ${arn}`),
    '',
    'Also set the bucket\'s default encryption to that key, so a write that sends no SSE header is encrypted with it.',
  ];
  const cors = setup.bucketCors === undefined
    ? [
      '## 3. Bucket CORS: none needed',
      '',
      'No client of this partner has CORS origins, so the broker needs no bucket CORS rule: leave the',
      'bucket\'s CORS configuration as it is (no cors.json is written).',
    ]
    : [
      '## 3. Bucket CORS rule (cors.json), for browser uploads and downloads',
      '',
      '`aws s3api put-bucket-cors` REPLACES ALL of the bucket\'s CORS rules. Merge with the current ones first:',
      '',
      `    aws s3api get-bucket-cors --bucket ${bucket} > current-cors.json`,
      `    ${JQ_CORS} current-cors.json cors.json > merged-cors.json`,
      '    # review merged-cors.json, then:',
      `    aws s3api put-bucket-cors --bucket ${bucket} --cors-configuration file://merged-cors.json`,
      '',
      `If get-bucket-cors fails with NoSuchCORSConfiguration the bucket has no CORS rules yet: apply cors.json`,
      `itself. The merge replaces an earlier rule with ID "${CORS_RULE_ID}" and keeps every other rule.`,
    ];
  return [
    `# sts-broker setup for partner "${partnerId}"`,
    '',
    `Role ${roleArn} (role name ${role}), bucket ${bucket}, broker prefixes ${prefixes.map((p) => JSON.stringify(p)).join(', ')}.`,
    `Files in ${out}: ${files.join(', ')}. Run the commands below from that folder (cd ${sh(out)}).`,
    '',
    `WARNING: ${setup.bucketPolicy === undefined ? 'three' : 'four'} of these AWS CLI commands REPLACE existing configuration as a whole, not add to it:`,
    '',
    '- `aws iam update-assume-role-policy` replaces the role\'s ENTIRE trust policy;',
    '- `aws s3api put-bucket-cors` replaces ALL of the bucket\'s CORS rules;',
    '- `aws s3api put-bucket-lifecycle-configuration` replaces ALL of the bucket\'s lifecycle rules.',
    ...(setup.bucketPolicy === undefined ? [] : ['- `aws s3api put-bucket-policy` replaces the bucket\'s ENTIRE bucket policy.']),
    '',
    'Where the role or bucket already has any of these, merge first as shown (jq), review the merged file,',
    'and apply that. Applying the files as they are wipes whatever else was there.',
    '',
    '## 1. Role trust policy (trust-policy.json)',
    '',
    'A new role, made for the broker:',
    '',
    `    aws iam create-role --role-name ${role} --assume-role-policy-document file://trust-policy.json`,
    '',
    'An existing role: `update-assume-role-policy` REPLACES its whole trust policy. Merge first (keeps every',
    'other statement, replaces earlier broker statements with the same Sid):',
    '',
    `    aws iam get-role --role-name ${role} --query Role.AssumeRolePolicyDocument --output json > current-trust-policy.json`,
    `    ${JQ_TRUST} current-trust-policy.json trust-policy.json > merged-trust-policy.json`,
    '    # review merged-trust-policy.json, then:',
    `    aws iam update-assume-role-policy --role-name ${role} --policy-document file://merged-trust-policy.json`,
    '',
    '## 2. Role permission policy (permissions.json)',
    '',
    `    aws iam put-role-policy --role-name ${role} --policy-name sts-broker --policy-document file://permissions.json`,
    '',
    'This adds (or replaces) only the inline policy named "sts-broker"; the role\'s other policies stay.',
    '',
    ...cors,
    '',
    '## 4. Lifecycle rules (lifecycle.json): abort multipart uploads left incomplete for a day',
    '',
    `Only under the broker's prefixes (${prefixes.map((p) => JSON.stringify(p)).join(', ')}), not the whole bucket.`,
    '`aws s3api put-bucket-lifecycle-configuration` REPLACES ALL of the bucket\'s lifecycle rules. Merge first:',
    '',
    `    aws s3api get-bucket-lifecycle-configuration --bucket ${bucket} > current-lifecycle.json`,
    `    ${JQ_LIFECYCLE} current-lifecycle.json lifecycle.json > merged-lifecycle.json`,
    '    # review merged-lifecycle.json, then:',
    `    aws s3api put-bucket-lifecycle-configuration --bucket ${bucket} --lifecycle-configuration file://merged-lifecycle.json`,
    '',
    'If get-bucket-lifecycle-configuration fails with NoSuchLifecycleConfiguration the bucket has no rules yet:',
    `apply lifecycle.json itself. The merge replaces earlier rules whose ID starts with "${LIFECYCLE_RULE_ID_PREFIX}".`,
    ...contract,
    ...kms,
    '',
  ].join('\n');
}

/** Creates `dir` (mode 0700) if missing; refuses a path that exists and is not a folder. */
function prepareFolder(dir: string): void {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new Error(`${dir} exists and is not a folder`);
    return;
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700); // exactly 0700, whatever the umask
}

function writePrivate(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600); // an existing file keeps its mode on write
}

process.exitCode = await runCli(SPEC, process.argv.slice(2), ({ values, positionals }) => {
  if (positionals.length !== 1) throw new UsageError(`name exactly one partner (got ${positionals.length} arguments)`);
  const partnerId = positionals[0]!;
  if (!NAME.test(partnerId)) throw new UsageError(`invalid partner name ${JSON.stringify(partnerId)}: 1–32 of [a-z0-9-], starting with a letter or digit`);
  const explicitArn = values['broker-role-arn'] as string | undefined;
  if (explicitArn !== undefined && !ROLE_ARN.test(explicitArn)) {
    throw new UsageError(`--broker-role-arn must be an IAM role ARN like arn:aws:iam::123456789012:role/<name> (got ${JSON.stringify(explicitArn)})`);
  }
  const outOption = values.out as string | undefined;
  if (outOption === '') throw new UsageError('--out needs a folder name');
  const configOption = values.config as string | undefined;
  if (configOption === '') throw new UsageError('--config needs a file name');

  const choice = chooseConfig(configOption, process.env);
  process.stderr.write(`partner-policy: reading ${choice.path} (${choice.why})\n`);
  let config;
  try {
    config = loadConfigFile(choice.path);
  } catch (err) {
    process.stderr.write(`partner-policy: ${(err as Error).message}\n`);
    return 1;
  }
  const partner = config.partners[partnerId];
  if (!partner) {
    process.stderr.write(`partner-policy: no partner "${partnerId}" in ${choice.path} (partners: ${Object.keys(config.partners).join(', ')})\n`);
    return 1;
  }

  const brokerRoleArn = explicitArn ?? PLACEHOLDER_ROLE_ARN;
  const setup = partnerSetup(partnerId, partner, brokerRoleArn, { allowInsecureLoopbackHttp: config.allowInsecureLoopbackHttp });
  const out = outOption ?? `partner-setup-${partnerId}`;
  const shown = relative(process.cwd(), resolve(out)) || '.';
  const text = instructions({ partnerId, roleArn: partner.roleArn, bucket: partner.bucket, prefixes: rolePrefixes(partner), out: shown, setup });
  try {
    prepareFolder(out);
    const json = (doc: object) => `${JSON.stringify(doc, null, 2)}\n`;
    writePrivate(join(out, 'trust-policy.json'), json(setup.roleTrustPolicy));
    writePrivate(join(out, 'permissions.json'), json(setup.rolePermissionPolicy));
    writePrivate(join(out, 'lifecycle.json'), json(setup.bucketLifecycle));
    // a cors.json from an earlier run would be applied by mistake: no CORS now means no file
    if (setup.bucketCors === undefined) rmSync(join(out, 'cors.json'), { force: true });
    else writePrivate(join(out, 'cors.json'), json(setup.bucketCors));
    if (setup.bucketPolicy === undefined) rmSync(join(out, 'bucket-policy.json'), { force: true });
    else writePrivate(join(out, 'bucket-policy.json'), json(setup.bucketPolicy));
    Object.values(setup.kmsKeyPolicies).forEach((statements, i) => writePrivate(join(out, `kms-key-policy-${i + 1}.json`), json({ Statement: statements })));
    writePrivate(join(out, 'APPLY.md'), text);
  } catch (err) {
    process.stderr.write(`partner-policy: cannot write to ${out}: ${(err as Error).message}\n`);
    return 1;
  }

  process.stdout.write(text);
  for (const note of setup.notes) process.stderr.write(`partner-policy: note: ${note}\n`);
  if (explicitArn === undefined) {
    process.stderr.write('partner-policy: note: trust-policy.json names a PLACEHOLDER broker role; rerun with --broker-role-arn '
      + '<the deployed execution role ARN> (arn:aws:iam::<account>:role/sts-broker-<stage>-<region>-lambdaRole) before applying it\n');
  }
  process.stderr.write(`partner-policy: wrote ${shown}/ (see APPLY.md there)\n`);
  return 0;
});
