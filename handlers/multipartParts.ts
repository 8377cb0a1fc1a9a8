import { S3Presigner } from '../src/aws/s3.js';
import { lambdaHandler } from '../src/http/lambdaHandler.js';
import { multipartPartsRoute } from '../src/routes/multipartParts.js';
import { coldStart } from '../src/wiring.js';

// Presigning only: part URLs are local computation, no S3 call.
const deps = coldStart({ presigner: new S3Presigner() });
export const handler = lambdaHandler(multipartPartsRoute, () => deps);
