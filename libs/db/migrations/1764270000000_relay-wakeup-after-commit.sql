-- Up Migration

-- The publish now notifies the relays after its commit (libs/db/relay-wakeup.ts), no longer from inside it: a NOTIFY
-- in the publish's transaction made every publish commit queue on Postgres's global notification lock.
DROP TRIGGER deliveries_committed ON deliveries;
DROP FUNCTION notify_deliveries_committed();

-- Down Migration

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
