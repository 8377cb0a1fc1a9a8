import { S3Presigner } from '../src/adapters/aws/s3Presigner.js';
import { lambdaHandler } from '../src/http/lambdaHandler.js';
import { uploadsRoute } from '../src/routes/uploads.js';
import { coldStart } from '../src/wiring/withAws.js';

const deps = coldStart({ presigner: new S3Presigner() });
export const handler = lambdaHandler(uploadsRoute, () => deps);
