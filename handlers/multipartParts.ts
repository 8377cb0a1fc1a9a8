import { S3Presigner } from '../src/adapters/aws/s3Presigner.js';
import { lambdaHandler } from '../src/http/lambdaHandler.js';
import { multipartPartsRoute } from '../src/routes/multipartParts.js';
import { coldStart } from '../src/wiring/withAws.js';

// Presigning only: part URLs are local computation, no S3 call.
const deps = coldStart({ presigner: new S3Presigner() });
export const handler = lambdaHandler(multipartPartsRoute, () => deps);
