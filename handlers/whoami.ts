import { lambdaHandler } from '../src/http/lambdaHandler.js';
import { whoamiRoute } from '../src/routes/whoami.js';
import { coldStartWithoutAws } from '../src/wiring/coldStart.js';
import { grantTable } from '../src/wiring/grantTableChoice.js';

// reads grants: the DynamoDB table reader in a dynamodb-store bundle (its only SDK), nothing otherwise
const deps = coldStartWithoutAws({ grantTable });
export const handler = lambdaHandler(whoamiRoute, () => deps);
