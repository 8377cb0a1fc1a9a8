import { lambdaHandler } from '../src/http/lambdaHandler.js';
import { credentialsContainerRoute } from '../src/routes/credentialsContainer.js';
import { coldStart, noPresigner } from '../src/wiring/withAws.js';

const deps = coldStart({ presigner: noPresigner });
export const handler = lambdaHandler(credentialsContainerRoute, () => deps);
