/**
 * The bucket CORS rule a browser needs to upload with the broker's presigned URLs and forms, applied
 * to a local bucket by `npm start` and the browser e2e test (with the bucket owner's credentials from
 * the local AWS env). A partner applies the same rule to its own bucket (README, "Clients").
 *
 * - AllowedHeaders: what the broker signs and a browser may set: Content-Type on a PUT (Content-Length,
 *   also signed, is set by the browser itself and never asked for in a preflight);
 * - ExposeHeaders: ETag, which multipart uploads must read from each part PUT's answer;
 * - methods: PUT (object and part URLs), POST (the form upload), GET and HEAD (presigned downloads).
 */
import { PutBucketCorsCommand, S3Client, type CORSRule } from '@aws-sdk/client-s3';

export function uploadCorsRule(origins: string[]): CORSRule {
  return {
    AllowedOrigins: origins,
    AllowedMethods: ['PUT', 'POST', 'GET', 'HEAD'],
    AllowedHeaders: ['content-type'],
    ExposeHeaders: ['ETag'],
    MaxAgeSeconds: 600,
  };
}

/** PutBucketCors on a local bucket (replaces its CORS configuration). */
export async function applyBucketCors(localAws: Record<string, string>, bucket: string, origins: string[]): Promise<void> {
  const need = (name: string) => {
    const v = localAws[name];
    if (!v) throw new Error(`local AWS env lacks ${name}`);
    return v;
  };
  const s3 = new S3Client({
    endpoint: need('LOCAL_AWS_ENDPOINT'),
    region: need('LOCAL_AWS_REGION'),
    forcePathStyle: true,
    credentials: { accessKeyId: need('OWNER_ACCESS_KEY_ID'), secretAccessKey: need('OWNER_SECRET_ACCESS_KEY') },
  });
  try {
    await s3.send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: { CORSRules: [uploadCorsRule(origins)] } }));
  } finally {
    s3.destroy();
  }
}
