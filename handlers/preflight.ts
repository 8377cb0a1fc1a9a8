import { preflightHandler } from '../src/http/preflight.js';
import { coldStartWithoutAws } from '../src/wiring/coldStart.js';

const deps = coldStartWithoutAws();
export const handler = preflightHandler(() => deps);
