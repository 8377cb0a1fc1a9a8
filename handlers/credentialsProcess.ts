import { lambdaHandler } from '../src/http/lambdaHandler.js';
import { credentialsProcessRoute } from '../src/routes/credentialsProcess.js';
import { coldStart, noPresigner } from '../src/wiring/withAws.js';

const deps = coldStart({ presigner: noPresigner });
export const handler = lambdaHandler(credentialsProcessRoute, () => deps);
