import { lambdaHandler } from '../src/http/lambdaHandler.js';
import { healthRoute } from '../src/routes/health.js';
import { coldStart, noPresigner } from '../src/wiring.js';

const deps = coldStart({ presigner: noPresigner });
export const handler = lambdaHandler(healthRoute, () => deps);
