import { parseRetryAfter } from '../../libs/outbound/webhook-sender';
import { DEFAULT_DELIVERY_POLICY, planAttempt, withRetryAfter } from '../../libs/contracts/delivery-policy';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const schedule = DEFAULT_DELIVERY_POLICY.retryScheduleMs;

describe('delivery policy', () => {
  it('is the default schedule: at once, then 1m, 5m, 30m, 2h, 12h; six attempts', () => {
    expect(schedule).toEqual([0, MINUTE, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 12 * HOUR]);
    expect(DEFAULT_DELIVERY_POLICY.attemptTimeoutMs).toBe(10_000);
    expect(DEFAULT_DELIVERY_POLICY.ttlMs).toBe(24 * HOUR);
  });

  it('plans each retry from the end of the previous failed attempt', () => {
    const deadline = DEFAULT_DELIVERY_POLICY.ttlMs;
    expect(planAttempt(schedule, 0, 0, deadline)).toEqual({ kind: 'attempt', delayMs: 0, atMs: 0 });
    expect(planAttempt(schedule, 1, 10_000, deadline)).toEqual({
      kind: 'attempt',
      delayMs: MINUTE,
      atMs: 10_000 + MINUTE,
    });
    expect(planAttempt(schedule, 5, 2 * HOUR, deadline)).toEqual({
      kind: 'attempt',
      delayMs: 12 * HOUR,
      atMs: 14 * HOUR,
    });
  });

  it('dead-letters as exhausted after the sixth attempt', () => {
    expect(planAttempt(schedule, 6, HOUR, 24 * HOUR)).toEqual({ kind: 'dead_letter', reason: 'exhausted' });
  });

  it('expires when the next attempt would fall past occurred_at + TTL, and allows one landing exactly on it', () => {
    const occurredAt = 0;
    const deadline = occurredAt + 24 * HOUR;
    expect(planAttempt(schedule, 4, 23 * HOUR, deadline)).toEqual({ kind: 'dead_letter', reason: 'expired' });
    expect(planAttempt(schedule, 4, 22 * HOUR, deadline)).toEqual({
      kind: 'attempt',
      delayMs: 2 * HOUR,
      atMs: 24 * HOUR,
    });
  });

  it('sums to 14h36m between the first and the sixth attempt when every attempt fails at once', () => {
    let now = 0;
    for (let slot = 1; slot < schedule.length; slot++) {
      const plan = planAttempt(schedule, slot, now, 24 * HOUR);
      if (plan.kind !== 'attempt') throw new Error(`slot ${slot} should be attempted`);
      now = plan.atMs;
    }
    expect(now).toBe(14 * HOUR + 36 * MINUTE);
  });
});

describe('Retry-After', () => {
  const deadline = 24 * HOUR;
  const scheduled = (delayMs: number, now: number) => ({ kind: 'attempt' as const, delayMs, atMs: now + delayMs });

  it('moves the next attempt later, never earlier, and at most to twice the scheduled delay', () => {
    expect(withRetryAfter(scheduled(MINUTE, 0), 90_000, 0, deadline)).toEqual(scheduled(90_000, 0));
    expect(withRetryAfter(scheduled(MINUTE, 0), 10 * MINUTE, 0, deadline)).toEqual(scheduled(2 * MINUTE, 0));
    expect(withRetryAfter(scheduled(5 * MINUTE, 0), MINUTE, 0, deadline)).toEqual(scheduled(5 * MINUTE, 0));
    expect(withRetryAfter(scheduled(MINUTE, 0), null, 0, deadline)).toEqual(scheduled(MINUTE, 0));
  });

  it('never pushes past the deadline, and leaves a dead letter a dead letter', () => {
    const now = 21 * HOUR;
    expect(withRetryAfter(scheduled(2 * HOUR, now), 4 * HOUR, now, deadline)).toEqual(scheduled(3 * HOUR, now));
    expect(withRetryAfter({ kind: 'dead_letter', reason: 'exhausted' }, HOUR, now, deadline)).toEqual({
      kind: 'dead_letter',
      reason: 'exhausted',
    });
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, and nothing else', () => {
    const now = Date.parse('2026-11-26T12:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Thu, 26 Nov 2026 12:05:00 GMT', now)).toBe(300_000);
    expect(parseRetryAfter('Thu, 26 Nov 2026 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(undefined, now)).toBeNull();
  });
});
