import { preflightHandler } from '../src/http/preflight.js';
import { coldStartWithoutAws } from '../src/wiring/coldStart.js';
import { grantTable } from '../src/wiring/grantTableChoice.js';

// reads grants: the DynamoDB table reader in a dynamodb-store bundle (its only SDK), nothing otherwise
const deps = coldStartWithoutAws({ grantTable });
export const handler = preflightHandler(() => deps);
