import { ZodError } from 'zod';
import {
  BrokerError, InternalError, InvalidRequestError, TooLargeError, UnsupportedMediaTypeError,
} from '../domain/errors.js';

/** Turns anything thrown during a request into a BrokerError; unknown errors become a generic 500. */
export function toBrokerError(err: unknown): BrokerError {
  if (err instanceof BrokerError) return err;
  if (err instanceof ZodError) return new InvalidRequestError(describeZodError(err));
  // middy's http-json-body-parser throws http-errors: 415 (not JSON), 422 (malformed, or a prototype-pollution key).
  const status = typeof err === 'object' && err !== null && 'statusCode' in err ? Number(err.statusCode) : undefined;
  if (status === 415) return new UnsupportedMediaTypeError('send the body as Content-Type: application/json');
  if (status === 422) {
    const forbidden = typeof err === 'object' && err !== null && 'message' in err && err.message === 'Forbidden key in JSON body';
    return new InvalidRequestError(forbidden ? 'the body contains a forbidden key (__proto__ or constructor.prototype)' : 'the body is not valid JSON');
  }
  if (status === 413) return new TooLargeError('request body too large');
  return new InternalError('internal error', { cause: err });
}

/** "body.contentLength: Invalid input: expected number, received string; body: Unrecognized key: \"foo\"" */
export function describeZodError(err: ZodError, root = 'body'): string {
  return err.issues
    .slice(0, 5)
    .map((issue) => {
      const path = [root, ...issue.path.map(String)].join('.');
      return `${path}: ${issue.message}`;
    })
    .join('; ');
}
