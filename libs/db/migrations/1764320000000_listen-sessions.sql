-- Up Migration

-- A listen session is a subscription of kind 'listen': its attempts are handed to the command-line tool that opened
-- it (which forwards them to a receiver on the developer's machine) instead of being POSTed out, and it ends at
-- expires_at unless the tool, polling, keeps moving that on.
ALTER TABLE subscriptions
  ADD COLUMN kind text NOT NULL DEFAULT 'webhook' CHECK (kind IN ('webhook', 'listen')),
  ADD COLUMN expires_at timestamptz,
  ADD CONSTRAINT subscriptions_listen_expiry CHECK ((kind = 'listen') = (expires_at IS NOT NULL));
CREATE INDEX subscriptions_listen_expiry_idx ON subscriptions (expires_at) WHERE kind = 'listen' AND deleted_at IS NULL;

-- One signed attempt handed to a listen session, waiting for its tool to claim it, then the tool's answer. A row
-- lives only as long as its attempt waits (the attempt deletes it), so nothing here outlives the attempt timeout.
CREATE TABLE listen_requests (
  id                text PRIMARY KEY,
  subscription_id   text NOT NULL REFERENCES subscriptions (id),
  headers           jsonb NOT NULL,
  body              text NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  expires_at        timestamptz NOT NULL,
  claimed_at        timestamptz,
  answered_at       timestamptz,
  status_code       integer,
  duration_ms       integer,
  error             text,
  response_excerpt  text,
  retry_after       text
);
CREATE INDEX listen_requests_waiting_idx ON listen_requests (subscription_id, created_at) WHERE claimed_at IS NULL;

-- Down Migration

DROP TABLE listen_requests;
DROP INDEX subscriptions_listen_expiry_idx;
ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_listen_expiry, DROP COLUMN expires_at, DROP COLUMN kind;
