-- Up Migration

-- Per-subscription limits on attempts in flight and attempt starts per second; NULL takes the configured default
-- (SUBSCRIPTION_MAX_IN_FLIGHT, SUBSCRIPTION_MAX_PER_SECOND).
ALTER TABLE subscriptions
  ADD COLUMN max_in_flight  integer CHECK (max_in_flight > 0),
  ADD COLUMN max_per_second integer CHECK (max_per_second > 0);

-- The limiter every worker shares: one row per subscription, taken and released by the attempt's own statements.
-- Its whole state is in the row, so an INSERT … ON CONFLICT DO UPDATE that checks and takes a permit is decided on
-- the row's latest version under its lock: concurrent attempts of several workers queue on the row, never overshoot.
CREATE TABLE subscription_limiters (
  subscription_id  text PRIMARY KEY REFERENCES subscriptions (id),
  -- The attempts in flight: delivery id -> lease end (epoch ms on the database's clock). A worker that dies
  -- mid-attempt leaves its permit until the lease ends; a retry of the same attempt takes the same key again.
  holders          jsonb NOT NULL DEFAULT '{}',
  -- Pacing for max_per_second: no attempt starts before this (one start every 1/max_per_second s).
  next_start_at    timestamptz,
  -- The limits in force at the latest permit (copied from the subscription or the defaults by that statement).
  in_flight_limit  integer NOT NULL,
  per_second_limit integer NOT NULL
);

-- An attempt waiting for a permit is `throttled`, with next_attempt_at saying when it looks again.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
  CHECK (status IN ('pending', 'attempting', 'throttled', 'retry_scheduled', 'delivered', 'dead_lettered', 'cancelled'));

-- Down Migration

ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
UPDATE deliveries SET status = 'retry_scheduled' WHERE status = 'throttled';
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
  CHECK (status IN ('pending', 'attempting', 'retry_scheduled', 'delivered', 'dead_lettered', 'cancelled'));
DROP TABLE subscription_limiters;
ALTER TABLE subscriptions DROP COLUMN max_per_second, DROP COLUMN max_in_flight;
