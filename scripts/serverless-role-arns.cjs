// Resolves the execution role's allowed Resources for serverless.yml: exactly the partner role ARNs
// named in the broker config (never "*"). CommonJS because the framework require()s variable files.
const { readFileSync } = require('node:fs');
const { parse } = require('yaml');

module.exports = async ({ resolveVariable }) => {
  const path = await resolveVariable('self:custom.brokerConfigFile');
  const config = parse(readFileSync(path, 'utf8'));
  // The local gateway's ARNs have no account id; they are accepted only for local runs.
  const account = process.env.BROKER_LOCAL_AWS === '1' ? '(\\d{12})?' : '\\d{12}';
  const pattern = new RegExp(`^arn:(aws|aws-cn|aws-us-gov):iam::${account}:role\\/[\\w+=,.@/-]+$`);
  const arns = Object.entries(config?.partners ?? {}).map(([name, p]) => {
    const arn = p?.roleArn;
    if (typeof arn !== 'string' || !pattern.test(arn)) {
      throw new Error(`${path}: partners.${name}.roleArn must be a full IAM role ARN with an account id to deploy (got ${JSON.stringify(arn)})`);
    }
    return arn;
  });
  if (arns.length === 0) throw new Error(`${path}: no partners, so no role the broker may assume`);
  return [...new Set(arns)];
};
