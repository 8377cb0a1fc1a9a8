import { preflightHandler } from '../src/http/preflight.js';
import { coldStart, noPresigner } from '../src/wiring.js';

const deps = coldStart({ presigner: noPresigner });
export const handler = preflightHandler(() => deps);
