-- Up Migration

-- When the subscription's current run of failed attempts began (the first failed attempt after a success, or
-- ever); NULL while its last counted attempt succeeded. A run that lasts SUBSCRIPTION_FAILURE_DISABLE_AFTER
-- disables the subscription (reason `failing`).
ALTER TABLE subscriptions ADD COLUMN failing_since timestamptz;

-- Down Migration

ALTER TABLE subscriptions DROP COLUMN failing_since;
