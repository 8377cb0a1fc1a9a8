import { S3Presigner } from '../src/aws/s3.js';
import { lambdaHandler } from '../src/http/lambdaHandler.js';
import { uploadsRoute } from '../src/routes/uploads.js';
import { coldStart } from '../src/wiring.js';

const deps = coldStart({ presigner: new S3Presigner() });
export const handler = lambdaHandler(uploadsRoute, () => deps);
