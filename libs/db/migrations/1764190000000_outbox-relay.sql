-- Up Migration

-- The worker's outbox relay claims unstarted deliveries for a short lease before starting their workflows, so
-- several workers share the outbox without starting a row twice, and a relay that dies mid-batch leaves rows that
-- any relay takes again once the lease has passed.
ALTER TABLE deliveries ADD COLUMN start_claimed_until timestamptz;

-- Every committed delivery wakes the relays at once (NOTIFY is sent on commit; one per transaction and channel).
CREATE FUNCTION notify_deliveries_committed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM inserted) THEN
    PERFORM pg_notify('deliveries_committed', '');
  END IF;
  RETURN NULL;
END;
$$;
CREATE TRIGGER deliveries_committed AFTER INSERT ON deliveries REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT EXECUTE FUNCTION notify_deliveries_committed();

-- Down Migration

DROP TRIGGER deliveries_committed ON deliveries;
DROP FUNCTION notify_deliveries_committed();
ALTER TABLE deliveries DROP COLUMN start_claimed_until;
