import { describe, expect, it } from 'vitest';
import {
  AUTH_FAILURE_WINDOW_MS,
  BACKSTOP_FACTOR,
  createAuthFailureLimiter,
  MAX_TRACKED_ADDRESSES,
} from '../../../runtime/api/auth-failure-limiter';

const clock = () => {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
};

describe('the failed key check limiter', () => {
  it('holds an address back after its limit until the window ends, and no other address', () => {
    const time = clock();
    const limiter = createAuthFailureLimiter(3, time.now);
    for (let i = 0; i < 3; i++) {
      expect(limiter.retryAfterS('203.0.113.1')).toBe(0);
      limiter.failed('203.0.113.1');
    }
    expect(limiter.retryAfterS('203.0.113.1')).toBe(AUTH_FAILURE_WINDOW_MS / 1000);
    expect(limiter.retryAfterS('203.0.113.2')).toBe(0);
    time.advance(AUTH_FAILURE_WINDOW_MS - 1500);
    expect(limiter.retryAfterS('203.0.113.1')).toBe(2);
    time.advance(1500);
    expect(limiter.retryAfterS('203.0.113.1')).toBe(0);
  });

  it('caps failed sign-ins from all addresses together with the backstop', () => {
    const limiter = createAuthFailureLimiter(2, clock().now);
    for (let i = 0; i < 2 * BACKSTOP_FACTOR; i++)
      limiter.failed(`198.51.100.${i}`, { backstop: true });
    expect(limiter.retryAfterS('192.0.2.1', { backstop: true })).toBeGreaterThan(0);
    // Bearer checks are not held back by it: one address's limit only.
    expect(limiter.retryAfterS('192.0.2.1')).toBe(0);
  });

  it('tracks a bounded number of addresses: past it, new ones share one count', () => {
    const limiter = createAuthFailureLimiter(2, clock().now);
    for (let i = 0; i < MAX_TRACKED_ADDRESSES; i++) limiter.failed(`a${i}`);
    // Two fresh addresses past the table's size add up, so spraying addresses gains nothing.
    limiter.failed('fresh-1');
    expect(limiter.retryAfterS('fresh-2')).toBe(0);
    limiter.failed('fresh-2');
    expect(limiter.retryAfterS('fresh-3')).toBeGreaterThan(0);
    // Addresses already in the table keep their own count.
    expect(limiter.retryAfterS('a0')).toBe(0);
  });
});
