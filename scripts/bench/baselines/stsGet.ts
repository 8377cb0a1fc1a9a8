/** SDK-only baseline (section 4) for `downloads`: AssumeRole, then a presigned GET. */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { PRESIGN_EXPIRES_IN } from '../request.js';
import { BASELINE_KEY, s3Client } from './s3.js';
import { assumer, type BaselineResponse, type BaselineTarget } from './sts.js';

export function makeHandler(target: BaselineTarget): () => Promise<BaselineResponse> {
  const assume = assumer(target);
  return async () => {
    const client = s3Client(target, await assume());
    const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: target.bucket, Key: BASELINE_KEY }), { expiresIn: PRESIGN_EXPIRES_IN });
    return { statusCode: 200, body: JSON.stringify({ url }) };
  };
}
