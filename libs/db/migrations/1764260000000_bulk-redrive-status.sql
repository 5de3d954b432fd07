-- Up Migration

-- A bulk redrive is running or completed: a batch that fails is retried by its workflow until it passes, and the
-- deliveries it could not redrive are counted in `failed`; no job ever ended in a status `failed`.
ALTER TABLE bulk_redrives DROP CONSTRAINT bulk_redrives_status_check;
ALTER TABLE bulk_redrives ADD CONSTRAINT bulk_redrives_status_check CHECK (status IN ('running', 'completed'));

-- Down Migration

ALTER TABLE bulk_redrives DROP CONSTRAINT bulk_redrives_status_check;
ALTER TABLE bulk_redrives ADD CONSTRAINT bulk_redrives_status_check CHECK (status IN ('running', 'completed', 'failed'));
