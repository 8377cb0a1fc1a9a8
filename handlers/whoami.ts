import { lambdaHandler } from '../src/http/lambdaHandler.js';
import { whoamiRoute } from '../src/routes/whoami.js';
import { coldStart, noPresigner } from '../src/wiring.js';

const deps = coldStart({ presigner: noPresigner });
export const handler = lambdaHandler(whoamiRoute, () => deps);
