-- Up Migration

-- The outbox claim reads each subscription's oldest unstarted rows, not the whole backlog: with this index a claim
-- costs one probe per subscription with rows waiting plus the rows it takes, however many wait behind them.
CREATE INDEX deliveries_outbox_subscription_idx ON deliveries (subscription_id, created_at, id)
  WHERE workflow_started_at IS NULL;
DROP INDEX deliveries_outbox_idx;

-- Down Migration

CREATE INDEX deliveries_outbox_idx ON deliveries (created_at) WHERE workflow_started_at IS NULL;
DROP INDEX deliveries_outbox_subscription_idx;
