/**
 * SDK-only baseline (section 4) for the credential functions: an AssumeRole with the same STSClient
 * settings as src/adapters/aws/sts.ts and a comparable session policy. Bundled by ../coldStart.ts from a
 * one-line entry that calls makeHandler with the run's values, so the client is made at import
 * time, as in the broker's handlers.
 */
import { AssumeRoleCommand, STSClient, type Credentials } from '@aws-sdk/client-sts';

/** The run's values, baked into the baseline's entry. */
export interface BaselineTarget { region: string; bucket: string; roleArn: string }

export interface BaselineResponse { statusCode: number; body: string }

/** An STS client made now, and a function that assumes the partner role with it. */
export function assumer(target: BaselineTarget): () => Promise<Credentials> {
  const sts = new STSClient({ region: target.region, endpoint: process.env.BROKER_STS_ENDPOINT, maxAttempts: 3, retryMode: 'standard',
    requestHandler: { connectionTimeout: 3000, requestTimeout: 3000, throwOnRequestTimeout: true } });
  const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'Objects', Effect: 'Allow', Action: ['s3:PutObject', 's3:GetObject'], Resource: `arn:aws:s3:::${target.bucket}/bench/*` }] });
  return async () => {
    const out = await sts.send(new AssumeRoleCommand({ RoleArn: target.roleArn, RoleSessionName: 'sbk-bench-baseline', SourceIdentity: 'bench.baseline',
      Policy: policy, DurationSeconds: 900, Tags: [{ Key: 'partner', Value: 'bench' }] }));
    if (!out.Credentials) throw new Error('AssumeRole answered without credentials');
    return out.Credentials;
  };
}

export function makeHandler(target: BaselineTarget): () => Promise<BaselineResponse> {
  const assume = assumer(target);
  return async () => {
    const c = await assume();
    return { statusCode: 200, body: JSON.stringify({ expiration: c.Expiration }) };
  };
}
