import { lambdaHandler } from '../src/http/lambdaHandler.js';
import { whoamiRoute } from '../src/routes/whoami.js';
import { coldStartWithoutAws } from '../src/wiringCore.js';

const deps = coldStartWithoutAws();
export const handler = lambdaHandler(whoamiRoute, () => deps);
