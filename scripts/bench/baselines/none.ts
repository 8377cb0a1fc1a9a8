/** Baseline (section 4) for the functions that make no AWS call: a bare handler, no SDK. */
import type { BaselineResponse, BaselineTarget } from './sts.js';

export function makeHandler(_target: BaselineTarget): () => Promise<BaselineResponse> {
  return async () => ({ statusCode: 200, body: JSON.stringify({ status: 'ok' }) });
}
