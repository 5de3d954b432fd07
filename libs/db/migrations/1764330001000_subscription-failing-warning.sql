-- Up Migration

-- The warning before an automatic disable (webhook.subscription.failing), once per run of failures: the run it was
-- sent for is named by its failing_since, so a new run (after a success, a new URL or an enable) is warned afresh
-- without anything being reset. When it was sent and when the subscription will be disabled, for the portal's banner.
ALTER TABLE subscriptions ADD COLUMN failing_warned_for timestamptz;
ALTER TABLE subscriptions ADD COLUMN failing_warned_at timestamptz;
ALTER TABLE subscriptions ADD COLUMN failing_disables_at timestamptz;

-- Down Migration

ALTER TABLE subscriptions DROP COLUMN failing_disables_at;
ALTER TABLE subscriptions DROP COLUMN failing_warned_at;
ALTER TABLE subscriptions DROP COLUMN failing_warned_for;
