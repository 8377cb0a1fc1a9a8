import { lambdaHandler } from '../src/http/lambdaHandler.js';
import { whoamiRoute } from '../src/routes/whoami.js';
import { coldStartWithoutAws } from '../src/wiring/coldStart.js';

const deps = coldStartWithoutAws();
export const handler = lambdaHandler(whoamiRoute, () => deps);
