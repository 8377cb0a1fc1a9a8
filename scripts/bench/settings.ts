/** The benchmark's settings: iteration counts (full or `--quick`), goals, and the request it presigns. */
import { join } from 'node:path';
import { tmpdir } from 'node:os';

export interface Runs {
  quick: boolean;
  presignWarmup: number;
  presignBatches: number;
  presignBatchSize: number;
  simRequests: number;
  vendWarmup: number;
  vendPairs: number;
  processReps: number;
  rpsWarmup: number;
  rpsRequests: number;
}

/** `--quick` runs every section with few iterations; the simulation is deterministic and cheap, so it runs in full. */
export function runs(quick: boolean): Runs {
  return quick
    ? { quick, presignWarmup: 30, presignBatches: 4, presignBatchSize: 25, simRequests: 100_000, vendWarmup: 3, vendPairs: 10, processReps: 1, rpsWarmup: 50, rpsRequests: 300 }
    : { quick, presignWarmup: 500, presignBatches: 20, presignBatchSize: 250, simRequests: 100_000, vendWarmup: 20, vendPairs: 200, processReps: 5, rpsWarmup: 500, rpsRequests: 5_000 };
}

export const LOCAL_AWS = { dir: join(tmpdir(), 'sts-broker-bench-aws'), port: 17580, monPort: 13410 } as const;
export const GOALS = { presignJwtVsFloor: 1.5, presignApiKeyVsFloor: 2.0, partsVsFloor: 1.5, stsVsMinimum: 1.2, stsShareOfRequests: 0.01, vendVsSts: 1.1, importVsSdk: 1.25 } as const;
export const AUDIENCE = 'bench-app';
export const SUBJECT = 'alice';
export { PRESIGN_EXPIRES_IN, PUT_SIGNED_HEADERS, UPLOAD_BYTES, UPLOAD_TYPE } from './request.js';
