import { deadlineFor, planAttempt, SEED_DELIVERY_POLICY } from '../../libs/contracts/delivery-policy';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const schedule = SEED_DELIVERY_POLICY.retryScheduleMs;

describe('delivery policy', () => {
  it('is the seed schedule: at once, then 1m, 5m, 30m, 2h, 12h; six attempts', () => {
    expect(schedule).toEqual([0, MINUTE, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 12 * HOUR]);
    expect(SEED_DELIVERY_POLICY.attemptTimeoutMs).toBe(10_000);
    expect(SEED_DELIVERY_POLICY.ttlMs).toBe(24 * HOUR);
  });

  it('plans each retry from the end of the previous failed attempt', () => {
    const deadline = deadlineFor(0, SEED_DELIVERY_POLICY.ttlMs);
    expect(planAttempt(schedule, 0, 0, deadline)).toEqual({ kind: 'attempt', delayMs: 0, atMs: 0 });
    expect(planAttempt(schedule, 1, 10_000, deadline)).toEqual({ kind: 'attempt', delayMs: MINUTE, atMs: 10_000 + MINUTE });
    expect(planAttempt(schedule, 5, 2 * HOUR, deadline)).toEqual({ kind: 'attempt', delayMs: 12 * HOUR, atMs: 14 * HOUR });
  });

  it('dead-letters as exhausted after the sixth attempt', () => {
    expect(planAttempt(schedule, 6, HOUR, deadlineFor(0, 24 * HOUR))).toEqual({ kind: 'dead_letter', reason: 'exhausted' });
  });

  it('expires when the next attempt would fall past occurred_at + TTL, and allows one landing exactly on it', () => {
    const occurredAt = 0;
    const deadline = deadlineFor(occurredAt, 24 * HOUR);
    expect(planAttempt(schedule, 4, 23 * HOUR, deadline)).toEqual({ kind: 'dead_letter', reason: 'expired' });
    expect(planAttempt(schedule, 4, 22 * HOUR, deadline)).toEqual({ kind: 'attempt', delayMs: 2 * HOUR, atMs: 24 * HOUR });
  });

  it('sums to 14h36m between the first and the sixth attempt when every attempt fails at once', () => {
    let now = 0;
    for (let slot = 1; slot < schedule.length; slot++) {
      const plan = planAttempt(schedule, slot, now, deadlineFor(0, 24 * HOUR));
      if (plan.kind !== 'attempt') throw new Error(`slot ${slot} should be attempted`);
      now = plan.atMs;
    }
    expect(now).toBe(14 * HOUR + 36 * MINUTE);
  });
});
