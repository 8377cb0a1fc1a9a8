import { ZodError } from 'zod';
import { BrokerError, InternalError, InvalidRequestError } from '../domain/errors.js';

/**
 * Turns anything thrown during a request into a BrokerError; unknown errors become a generic 500.
 * The body parser (jsonBody.ts) and the body limit throw BrokerErrors themselves.
 */
export function toBrokerError(err: unknown): BrokerError {
  if (err instanceof BrokerError) return err;
  if (err instanceof ZodError) return new InvalidRequestError(describeZodError(err));
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
