-- Up Migration

-- A subscription may ask that the deliveries of one entity (one ordering key) reach it one at a time, in publish order.
ALTER TABLE subscriptions ADD COLUMN ordering text NOT NULL DEFAULT 'none' CHECK (ordering IN ('none', 'per_entity'));

-- The event's ordering key: the publisher's `ordering_key`, else the one the catalogue derives from its data.
ALTER TABLE events ADD COLUMN ordering_key text;

-- Set on a delivery only when its subscription ordered per entity at publish: the outbox holds such a delivery back
-- while an earlier one of its key has not ended. Every other delivery keeps NULL and the claim never looks further.
ALTER TABLE deliveries ADD COLUMN ordering_key text;
CREATE INDEX deliveries_ordered_outbox_idx ON deliveries (subscription_id, ordering_key, created_at, id)
  WHERE workflow_started_at IS NULL AND ordering_key IS NOT NULL;

-- The head of each (subscription, key): the one delivery of the key that was let start and has not ended. Taken by
-- the claim that admits it, deleted by the statement that records its end, so no restart can let two deliveries of
-- a key run at once or keep a key blocked by a delivery that ended.
CREATE TABLE ordering_heads (
  subscription_id text NOT NULL REFERENCES subscriptions (id),
  ordering_key    text NOT NULL,
  delivery_id     text NOT NULL,
  since           timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (subscription_id, ordering_key)
);
CREATE INDEX ordering_heads_delivery_idx ON ordering_heads (delivery_id);

-- Down Migration

DROP TABLE ordering_heads;
DROP INDEX deliveries_ordered_outbox_idx;
ALTER TABLE deliveries DROP COLUMN ordering_key;
ALTER TABLE events DROP COLUMN ordering_key;
ALTER TABLE subscriptions DROP COLUMN ordering;
