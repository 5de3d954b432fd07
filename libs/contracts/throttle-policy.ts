/**
 * Per-subscription limits on attempts and how long an attempt waits when they are reached. Pure arithmetic: the
 * attempt activity uses it, and it must stay free of Node builtins like the rest of libs/contracts.
 */
export interface SubscriptionLimits {
  /** Attempts in flight at once, across every worker; 0: no cap. */
  maxInFlight: number;
  /** Attempt starts per second, across every worker (paced: one every 1/maxPerSecond s); 0: no cap. */
  maxPerSecond: number;
}

/** The largest limits a subscription may set: a permit's holders live in one row, rewritten at every take. */
export const MAX_IN_FLIGHT_LIMIT = 1_000;
export const MAX_PER_SECOND_LIMIT = 10_000;

const FIRST_WAIT_MS = 100;
const LONGEST_WAIT_MS = 5_000;

/**
 * The wait before looking for a permit again after `throttledTimes` refusals in a row (0 for the first): doubling
 * from 100 ms up to 5 s, each between half and all of that (`random` in [0, 1)), so waiters spread out instead of
 * waking together. The caller waits at least until the pacing lets the next attempt start.
 */
export function throttleBackoffMs(throttledTimes: number, random: number): number {
  const ceiling = Math.min(LONGEST_WAIT_MS, FIRST_WAIT_MS * 2 ** Math.min(throttledTimes, 16));
  return Math.round(ceiling / 2 + (random * ceiling) / 2);
}

/** The longest a refused attempt is told to wait for its turn behind the deliveries already waiting before it. */
const LONGEST_TURN_WAIT_MS = 60_000;

/**
 * About when a refused attempt's turn comes: `waitingAhead` deliveries of the subscription already wait on their
 * timers before it, and its `limit` permits turn over every `holdMs` (their recent average). Between half and all of
 * that (`random` in [0, 1)): early costs one more refusal, late leaves a permit unused; at most a minute, and 0 while
 * the limit or the hold time is unknown.
 * Against a receiver that answers in seconds, waiting this long instead of the doubling backoff makes each waiting
 * delivery ask again about once, not every few seconds: every refusal costs a durable timer and a workflow task.
 */
export function turnWaitMs(waitingAhead: number, limit: number, holdMs: number, random: number): number {
  if (limit <= 0 || holdMs <= 0) return 0;
  const expected = ((waitingAhead + 1) / limit) * holdMs;
  return Math.round(Math.min(LONGEST_TURN_WAIT_MS, expected * (0.5 + random / 2)));
}
