/** SDK-only baseline (section 4) for `uploads`: AssumeRole, then a presigned PUT signing Content-Type and Content-Length. */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { PRESIGN_EXPIRES_IN, PUT_SIGNED_HEADERS, UPLOAD_BYTES, UPLOAD_TYPE } from '../request.js';
import { BASELINE_KEY, s3Client } from './s3.js';
import { assumer, type BaselineResponse, type BaselineTarget } from './sts.js';

export function makeHandler(target: BaselineTarget): () => Promise<BaselineResponse> {
  const assume = assumer(target);
  return async () => {
    const client = s3Client(target, await assume());
    const url = await getSignedUrl(client, new PutObjectCommand({ Bucket: target.bucket, Key: BASELINE_KEY, ContentType: UPLOAD_TYPE, ContentLength: UPLOAD_BYTES }),
      { expiresIn: PRESIGN_EXPIRES_IN, signableHeaders: PUT_SIGNED_HEADERS });
    return { statusCode: 200, body: JSON.stringify({ url }) };
  };
}
