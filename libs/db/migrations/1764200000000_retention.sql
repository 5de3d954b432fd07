-- Up Migration

-- The retention purge looks for old rows by the time they ended (deliveries) or arrived (events).
CREATE INDEX deliveries_ended_idx ON deliveries (updated_at) WHERE status IN ('delivered', 'cancelled');
CREATE INDEX deliveries_dead_lettered_at_idx ON deliveries (dead_lettered_at) WHERE status = 'dead_lettered';
CREATE INDEX events_received_at_idx ON events (received_at);

-- Down Migration

DROP INDEX events_received_at_idx;
DROP INDEX deliveries_dead_lettered_at_idx;
DROP INDEX deliveries_ended_idx;
