-- Up Migration

-- A replay is a bulk redrive of another kind: its job walks a subscription's tenant's events in a window (by
-- occurred_at, then id) instead of dead letters (by id), and resends or creates the subscription's delivery of each.
ALTER TABLE bulk_redrives ADD COLUMN kind text NOT NULL DEFAULT 'dead_letters' CHECK (kind IN ('dead_letters', 'replay'));
ALTER TABLE bulk_redrives ADD COLUMN last_at timestamptz;
CREATE INDEX bulk_redrives_running_idx ON bulk_redrives (tenant_id, kind) WHERE status = 'running';

-- Each delivery a replay took, written in the transaction of its claim: a batch run again after its worker died
-- finds it taken and sends nothing twice; the job's delivered and failed counts are read from these rows.
CREATE TABLE replay_deliveries (
  replay_id   text NOT NULL REFERENCES bulk_redrives (id) ON DELETE CASCADE,
  delivery_id text NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
  -- Temporal refused the run (the previous one was still open): the delivery was put back as it was.
  refused     boolean NOT NULL DEFAULT false,
  PRIMARY KEY (replay_id, delivery_id)
);
CREATE INDEX replay_deliveries_delivery_idx ON replay_deliveries (delivery_id);

-- A replay's window: a tenant's events by the time they occurred.
CREATE INDEX events_tenant_occurred_idx ON events (tenant_id, occurred_at, id);

-- Down Migration

DROP INDEX events_tenant_occurred_idx;
DROP TABLE replay_deliveries;
DROP INDEX bulk_redrives_running_idx;
ALTER TABLE bulk_redrives DROP COLUMN last_at;
ALTER TABLE bulk_redrives DROP COLUMN kind;
