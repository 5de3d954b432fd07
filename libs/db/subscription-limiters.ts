/**
 * The SQL pieces of the subscriptions' limiter rows (`subscription_limiters`) that both the attempt's permit and the
 * outbox's admission use: whoever takes a permit, both judge it on the same clock, limits and pacing.
 */

/** The database's clock in epoch ms: every worker's permits are judged on one clock. */
export const NOW_MS = `(extract(epoch FROM clock_timestamp()) * 1000)::bigint`;

/**
 * The limits in force for subscriptions `s` (LEFT JOINed: null when gone): its own, else the defaults given as
 * parameters; `limited` when the subscription takes permits at all (enabled, not deleted, some limit set).
 */
export function limitsOf(inFlightDefault: string, perSecondDefault: string) {
  const inFlight = `COALESCE(s.max_in_flight, ${inFlightDefault}::int)`;
  const perSecond = `COALESCE(s.max_per_second, ${perSecondDefault}::int)`;
  return {
    inFlight,
    perSecond,
    limited: `COALESCE(s.enabled AND s.deleted_at IS NULL, false) AND (${inFlight} > 0 OR ${perSecond} > 0)`,
  };
}

/** When the next attempt may start after one starting now, under this per-second limit (null: no pacing). */
export const nextStartAfterNow = (perSecondLimit: string) =>
  `CASE WHEN ${perSecondLimit} > 0 THEN clock_timestamp() + make_interval(secs => 1.0 / ${perSecondLimit}) END`;
