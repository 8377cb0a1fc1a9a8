import { lambdaHandler } from '../src/http/lambdaHandler.js';
import { credentialsRoute } from '../src/routes/credentials.js';
import { coldStart, noPresigner } from '../src/wiring/withAws.js';

const deps = coldStart({ presigner: noPresigner });
export const handler = lambdaHandler(credentialsRoute, () => deps);
