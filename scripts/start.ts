/**
 * `npm start`: the broker on 127.0.0.1 against a real local S3 + STS, for newcomers.
 * Starts local AWS unless it is already running, writes a demo config whose partner points at the
 * local role and bucket, serves the API with serverless-offline (the production handlers and
 * serverless.yml), prints a fresh demo API key and three commands to try. Ctrl-C stops what it started.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { generateApiKey } from '../src/auth/apiKey.js';
import { repoRoot, startOffline, writeLocalConfig } from './lib/offline.js';
import { ensureLocalAws } from '../test/e2e/support/localAws.js';

const dir = process.env.LOCAL_AWS_DIR ?? join(process.env.TMPDIR ?? '/tmp', 'sts-broker-local-aws');
const httpPort = Number(process.env.BROKER_HTTP_PORT ?? 4340);

console.log('starting local S3 + STS (Ceph RADOS Gateway on 127.0.0.1)…');
const aws = await ensureLocalAws({ dir, port: Number(process.env.LOCAL_AWS_PORT ?? 7480), monPort: Number(process.env.LOCAL_AWS_MON_PORT ?? 3310) });
console.log(aws.startedByUs ? `local AWS started in ${dir}` : `reusing local AWS already running in ${dir}`);

const key = generateApiKey();
const configFile = join(aws.env.LOCAL_AWS_DIR ?? dir, 'broker.demo.yaml');
writeLocalConfig(configFile, {
  region: aws.env.LOCAL_AWS_REGION ?? 'us-east-1',
  partners: [{
    name: 'demo', roleArn: aws.env.PARTNER_ROLE_ARN!, bucket: aws.env.PARTNER_BUCKET!, prefix: 'demo/',
    clients: { backend: { keyId: key.id, sha256: key.sha256 } },
  }],
});

console.log('starting the API (serverless-offline)…');
const api = await startOffline({ configFile, localAws: aws.env, httpPort, lambdaPort: Number(process.env.BROKER_LAMBDA_PORT ?? 4342) });

const stopAll = async () => {
  console.log('\nstopping…');
  await api.stop();
  await aws.stop();
  process.exit(0);
};
process.on('SIGINT', stopAll);
process.on('SIGTERM', stopAll);

const endpoint = aws.env.LOCAL_AWS_ENDPOINT!;
const hasAws = (() => { try { execFileSync('aws', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; } })();
console.log(`
sts-broker is serving ${api.url} (config: ${configFile}, repo: ${repoRoot})

demo API key (shown once, valid while this runs):
  export BROKER_URL=${api.url}
  export BROKER_API_KEY=${key.key}

1) vend credentials for the demo partner's prefix "demo/":
  curl -s -X POST "$BROKER_URL/v1/credentials" -H "X-Api-Key: $BROKER_API_KEY" -H 'content-type: application/json' -d '{"durationSeconds": 900}'

2) get an upload URL and upload a file with curl:
  echo 'hello from sts-broker' > hello.txt
  curl -s -X POST "$BROKER_URL/v1/uploads" -H "X-Api-Key: $BROKER_API_KEY" -H 'content-type: application/json' \\
    -d "{\\"method\\":\\"PUT\\",\\"key\\":\\"hello.txt\\",\\"contentType\\":\\"text/plain\\",\\"contentLength\\":$(wc -c < hello.txt)}" > upload.json
  curl -s -X PUT -T hello.txt -H 'Content-Type: text/plain' "$(node -p 'require("./upload.json").url')" -w '%{http_code}\\n'

3) list the prefix with the AWS CLI${hasAws ? '' : ' (install it first: apt-get install awscli)'}, using the broker as its credential source:
  cat > /tmp/sts-broker-aws-config <<'CFG'
[profile broker-demo]
credential_process = sh -c 'curl -sf -H "X-Api-Key: $BROKER_API_KEY" "$BROKER_URL/v1/credentials/process"'
CFG
  AWS_CONFIG_FILE=/tmp/sts-broker-aws-config aws --profile broker-demo --region us-east-1 --endpoint-url ${endpoint} s3 ls s3://${aws.env.PARTNER_BUCKET}/demo/

Ctrl-C stops the API${aws.startedByUs ? ' and local AWS' : ''}.`);
