-- Up Migration

-- Tenant-scoped API keys: only a SHA-256 of the key is kept, with a visible prefix to tell keys apart.
CREATE TABLE api_keys (
  id          text PRIMARY KEY,
  tenant_id   text NOT NULL,
  prefix      text NOT NULL,
  key_hash    text NOT NULL UNIQUE,
  name        text,
  created_by  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);
CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id, id);

-- Every signing secret of a subscription; during a rotation's grace period more than one is valid.
CREATE TABLE subscription_secrets (
  subscription_id text NOT NULL REFERENCES subscriptions (id),
  secret          text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  expires_at      timestamptz,
  PRIMARY KEY (subscription_id, created_at)
);
INSERT INTO subscription_secrets (subscription_id, secret, created_at)
  SELECT id, signing_secret, created_at FROM subscriptions;
ALTER TABLE subscriptions DROP COLUMN signing_secret;

-- Who did what to which delivery, subscription or key, and when.
CREATE TABLE operator_actions (
  id          text PRIMARY KEY,
  tenant_id   text,
  action      text NOT NULL,
  target_type text NOT NULL,
  target_id   text NOT NULL,
  actor       text NOT NULL,
  details     jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX operator_actions_tenant_idx ON operator_actions (tenant_id, id);
CREATE INDEX operator_actions_target_idx ON operator_actions (target_id, id);

-- A redrive of many dead letters by filter, run by a Temporal workflow in bounded batches.
CREATE TABLE bulk_redrives (
  id          text PRIMARY KEY,
  tenant_id   text,
  filter      jsonb NOT NULL,
  -- Only dead letters that existed when the redrive was asked for are taken, so the job always ends.
  cutoff      timestamptz NOT NULL DEFAULT now(),
  status      text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed')),
  matched     integer NOT NULL DEFAULT 0,
  redriven    integer NOT NULL DEFAULT 0,
  skipped     integer NOT NULL DEFAULT 0,
  failed      integer NOT NULL DEFAULT 0,
  last_id     text,
  requested_by text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);

CREATE INDEX deliveries_dead_letters_idx ON deliveries (id) WHERE status = 'dead_lettered';

-- Down Migration

DROP INDEX deliveries_dead_letters_idx;
DROP TABLE bulk_redrives;
DROP TABLE operator_actions;
ALTER TABLE subscriptions ADD COLUMN signing_secret text;
UPDATE subscriptions s SET signing_secret = (
  SELECT secret FROM subscription_secrets x WHERE x.subscription_id = s.id ORDER BY created_at DESC LIMIT 1);
ALTER TABLE subscriptions ALTER COLUMN signing_secret SET NOT NULL;
DROP TABLE subscription_secrets;
DROP TABLE api_keys;
