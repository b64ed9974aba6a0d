import { describe, expect, it } from 'vitest';
import { createResendLimiter } from '../../../runtime/queue/resend-limiter';

describe('the re-send limiter', () => {
  const backlog = Array.from({ length: 250 }, (_, i) => `run-${i}`);

  it('re-sends a large backlog in bounded slices, each run once per period', () => {
    const limiter = createResendLimiter({ everyMs: 60_000, perCall: 100 });
    const resentPerPass: number[] = [];
    for (let pass = 0; pass < 4; pass++) {
      const now = pass * 10_000;
      const deferred = limiter.deferred(backlog, now);
      const resent = backlog.filter((id) => !deferred.has(id));
      for (const id of resent) limiter.sent(id, now);
      resentPerPass.push(resent.length);
    }
    expect(resentPerPass).toEqual([100, 100, 50, 0]);
  });

  it('re-sends a run again once its period has passed', () => {
    const limiter = createResendLimiter({ everyMs: 60_000, perCall: 100 });
    limiter.sent('run-0', 0);
    expect(limiter.deferred(['run-0'], 59_999).has('run-0')).toBe(true);
    expect(limiter.deferred(['run-0'], 60_000).has('run-0')).toBe(false);
  });
});
