/**
 * What an adapter logs about a failed AWS SDK call: the error's name and code, the HTTP status, AWS's
 * request id (to quote to AWS support), the attempts the SDK made, and the first 300 characters of
 * the message. Never the request, its parameters or credentials: the SDK's message names the
 * operation and the service's reason, not the caller's secrets.
 */
export function describeSdkError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { errorName: typeof err };
  const metadata: unknown = Reflect.get(err, '$metadata');
  const meta = typeof metadata === 'object' && metadata !== null ? metadata : {};
  return {
    errorName: err.name,
    errorCode: Reflect.get(err, 'code') as unknown,
    httpStatusCode: Reflect.get(meta, 'httpStatusCode') as unknown,
    awsRequestId: Reflect.get(meta, 'requestId') as unknown,
    attempts: Reflect.get(meta, 'attempts') as unknown,
    errorMessage: err.message.slice(0, 300),
  };
}
