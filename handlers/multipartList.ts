import { MULTIPART_STORE_DEFAULTS, S3MultipartStore } from '../src/adapters/aws/s3Multipart.js';
import { lambdaHandler } from '../src/http/lambdaHandler.js';
import { multipartListRoute } from '../src/routes/multipartList.js';
import { coldStart, noPresigner } from '../src/wiring/withAws.js';

const deps = coldStart({ presigner: noPresigner, multipart: new S3MultipartStore(MULTIPART_STORE_DEFAULTS) });
export const handler = lambdaHandler(multipartListRoute, () => deps);
