/**
 * Pure retry-schedule and deadline arithmetic. The delivery workflow imports this module, so it must stay
 * deterministic and free of Node builtins.
 */
export interface DeliveryPolicy {
  /** Entry n is the wait before attempt n+1, counted from the end of the previous failed attempt. */
  retryScheduleMs: number[];
  /** Budget for one whole HTTP attempt (connect, send, full response). */
  attemptTimeoutMs: number;
  /** Nothing is attempted later than occurred_at + ttlMs. */
  ttlMs: number;
}

/** The product contract's policy, unless configured: attempt 1 at once, then 1m, 5m, 30m, 2h, 12h; 10 s per attempt; 24 h TTL. */
export const DEFAULT_DELIVERY_POLICY: DeliveryPolicy = {
  retryScheduleMs: [0, 60_000, 300_000, 1_800_000, 7_200_000, 43_200_000],
  attemptTimeoutMs: 10_000,
  ttlMs: 86_400_000,
};

export type DeadLetterReason = 'exhausted' | 'expired';

export type NextAttemptPlan =
  { kind: 'attempt'; delayMs: number; atMs: number } | { kind: 'dead_letter'; reason: DeadLetterReason };

/**
 * What happens before schedule slot `slot` (0 = the first attempt of a run): wait and attempt, or give up.
 * `nowMs` is when the previous attempt ended (or the run started); `deadlineMs` is the TTL bound.
 */
export function planAttempt(
  schedule: readonly number[],
  slot: number,
  nowMs: number,
  deadlineMs: number,
): NextAttemptPlan {
  if (slot >= schedule.length) return { kind: 'dead_letter', reason: 'exhausted' };
  const delayMs = schedule[slot];
  const atMs = nowMs + delayMs;
  if (atMs > deadlineMs) return { kind: 'dead_letter', reason: 'expired' };
  return { kind: 'attempt', delayMs, atMs };
}

/**
 * A receiver's `Retry-After` (on 429 or 503) moves the next attempt later, never earlier: clamped between the
 * scheduled delay and twice it, and never past the deadline (the scheduled attempt itself always fits).
 */
export function withRetryAfter(
  plan: NextAttemptPlan,
  retryAfterMs: number | null | undefined,
  nowMs: number,
  deadlineMs: number,
): NextAttemptPlan {
  if (plan.kind !== 'attempt' || retryAfterMs === null || retryAfterMs === undefined || retryAfterMs <= plan.delayMs)
    return plan;
  const delayMs = Math.max(plan.delayMs, Math.min(retryAfterMs, 2 * plan.delayMs, deadlineMs - nowMs));
  return { kind: 'attempt', delayMs, atMs: nowMs + delayMs };
}
