import { lambdaHandler } from '../src/http/lambdaHandler.js';
import { openapiRoute } from '../src/routes/openapi.js';
import { coldStart, noPresigner } from '../src/wiring.js';

const deps = coldStart({ presigner: noPresigner });
export const handler = lambdaHandler(openapiRoute, () => deps);
