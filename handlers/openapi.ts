import { lambdaHandler } from '../src/http/lambdaHandler.js';
import { openapiRoute } from '../src/routes/openapi.js';
import { coldStartWithoutAws } from '../src/wiring/coldStart.js';

const deps = coldStartWithoutAws();
export const handler = lambdaHandler(openapiRoute, () => deps);
