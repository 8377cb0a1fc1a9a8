import { lambdaHandler } from '../src/http/lambdaHandler.js';
import { healthRoute } from '../src/routes/health.js';
import { coldStartWithoutAws } from '../src/wiring/coldStart.js';

const deps = coldStartWithoutAws();
export const handler = lambdaHandler(healthRoute, () => deps);
