/**
 * The S3 half of the presign baselines (section 4): the adapter's S3Client settings
 * (src/adapters/aws/s3Presigner.ts clientConfig) written out, a fresh client per URL, signing with the session.
 */
import { S3Client } from '@aws-sdk/client-s3';
import type { Credentials } from '@aws-sdk/client-sts';
import type { BaselineTarget } from './sts.js';

export function s3Client(target: BaselineTarget, c: Credentials): S3Client {
  return new S3Client({ region: target.region, endpoint: process.env.BROKER_S3_ENDPOINT, forcePathStyle: true,
    credentials: { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken, expiration: c.Expiration },
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED', systemClockOffset: 0,
    useFipsEndpoint: false, useDualstackEndpoint: false, useArnRegion: false, disableS3ExpressSessionAuth: true, disableMultiregionAccessPoints: true,
    sigv4aSigningRegionSet: [], authSchemePreference: [], defaultsMode: 'standard', retryMode: 'standard', maxAttempts: 1 });
}

/** The object the baselines presign. */
export const BASELINE_KEY = 'bench/cold/a.jpg';
