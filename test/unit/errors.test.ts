import { describe, expect, it } from '@jest/globals';
import { BrokerError, GrantViolationError, StsThrottledError } from '../../src/domain/errors.js';

describe('BrokerError', () => {
  it('carries a stable code, an honest status and its own class name', () => {
    const err = new GrantViolationError('key is outside the grant prefix "acme/"');
    expect(err).toBeInstanceOf(BrokerError);
    expect(err.name).toBe('GrantViolationError');
    expect(err.code).toBe('outside_grant');
    expect(err.status).toBe(403);
    expect(err.expose).toBe(true);
  });

  it('hides 5xx messages and keeps the cause for logs only', () => {
    const cause = new Error('Throttling: Rate exceeded');
    const err = new StsThrottledError('STS is throttling the broker', { cause, retryAfterSeconds: 2 });
    expect(err.expose).toBe(false);
    expect(err.cause).toBe(cause);
    expect(err.retryAfterSeconds).toBe(2);
  });
});
