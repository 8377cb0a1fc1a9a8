/**
 * The tests' API Gateway event builder and Lambda context: the same ones the benchmark uses, so a
 * test and a measurement always drive the handlers with the same event shape.
 */
export { apiEvent, lambdaContext, type ApiEventOptions } from '../../scripts/lib/apiEvent.js';
