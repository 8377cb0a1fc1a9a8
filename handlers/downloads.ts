import { S3Presigner } from '../src/adapters/aws/s3Presigner.js';
import { lambdaHandler } from '../src/http/lambdaHandler.js';
import { downloadsRoute } from '../src/routes/downloads.js';
import { coldStart } from '../src/wiring/withAws.js';

const deps = coldStart({ presigner: new S3Presigner() });
export const handler = lambdaHandler(downloadsRoute, () => deps);
