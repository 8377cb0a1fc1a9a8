/**
 * The Powertools Tracer (AWS X-Ray) for the STS client: imported only by bundles built with
 * `STS_BROKER_TRACING=true` (see ./withAws.ts and docs/observability.md, "Tracing"). Default bundles
 * never reach this module, so neither it nor the X-Ray SDK is in them.
 *
 * Outside Lambda, or with POWERTOOLS_TRACE_ENABLED=false, the Tracer is disabled and hands clients
 * back untouched. A subsegment holds the operation, region, AWS request id, retries and status;
 * the X-Ray SDK copies request or response fields only for the services on its allow-list (DynamoDB,
 * SQS, SNS, Lambda, S3, SageMaker Runtime), which has no STS: an AssumeRole answer's secret key and
 * session token never reach a trace.
 */
import { Tracer } from '@aws-lambda-powertools/tracer';

let tracer: Tracer | undefined;

/** Adds an X-Ray subsegment per call of `client` (its attempts included) under the invocation's segment. */
export function traceClient<T>(client: T): T {
  tracer ??= new Tracer({ serviceName: 'sts-broker', captureHTTPsRequests: false });
  return tracer.captureAWSv3Client(client);
}
