-- Up Migration

CREATE TABLE subscriptions (
  id              text PRIMARY KEY,
  tenant_id       text NOT NULL,
  url             text NOT NULL,
  event_types     text[] NOT NULL,
  description     text,
  signing_secret  text NOT NULL,
  enabled         boolean NOT NULL DEFAULT true,
  disabled_reason text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  -- Deleted subscriptions stay as rows so their deliveries and attempts keep their history.
  deleted_at      timestamptz
);
CREATE INDEX subscriptions_tenant_idx ON subscriptions (tenant_id, id) WHERE deleted_at IS NULL;
CREATE INDEX subscriptions_event_types_idx ON subscriptions USING gin (event_types) WHERE deleted_at IS NULL AND enabled;

CREATE TABLE events (
  id           text PRIMARY KEY,
  tenant_id    text NOT NULL,
  tenant_slug  text,
  event_type   text NOT NULL,
  occurred_at  timestamptz NOT NULL,
  -- json (not jsonb) keeps the publisher's key order, so receivers get the fields as they were sent.
  actor        json,
  data         json NOT NULL,
  -- sha256 of the canonical publish request: an idempotent replay must carry the same content.
  content_hash text NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_tenant_idx ON events (tenant_id, id);

CREATE TABLE deliveries (
  id                  text PRIMARY KEY,
  event_id            text NOT NULL REFERENCES events (id),
  subscription_id     text NOT NULL REFERENCES subscriptions (id),
  tenant_id           text NOT NULL,
  event_type          text NOT NULL,
  workflow_id         text NOT NULL UNIQUE,
  status              text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'attempting', 'retry_scheduled', 'delivered', 'dead_lettered', 'cancelled')),
  attempt_count       integer NOT NULL DEFAULT 0,
  next_attempt_at     timestamptz,
  last_status_code    integer,
  last_error          text,
  failure_reason      text,
  -- NULL until Temporal has the workflow: the outbox sweeper starts every row still NULL.
  workflow_started_at timestamptz,
  redrive_count       integer NOT NULL DEFAULT 0,
  delivered_at        timestamptz,
  dead_lettered_at    timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  UNIQUE (event_id, subscription_id)
);
CREATE INDEX deliveries_tenant_idx ON deliveries (tenant_id, id);
CREATE INDEX deliveries_subscription_idx ON deliveries (subscription_id, id);
CREATE INDEX deliveries_dead_letter_idx ON deliveries (tenant_id, id) WHERE status = 'dead_lettered';
CREATE INDEX deliveries_outbox_idx ON deliveries (created_at) WHERE workflow_started_at IS NULL;

CREATE TABLE delivery_attempts (
  delivery_id      text NOT NULL REFERENCES deliveries (id),
  attempt          integer NOT NULL,
  started_at       timestamptz NOT NULL,
  duration_ms      integer NOT NULL,
  status_code      integer,
  error            text,
  response_excerpt text,
  succeeded        boolean NOT NULL,
  -- One row per attempt number: an activity retried after an infrastructure fault overwrites, never duplicates.
  PRIMARY KEY (delivery_id, attempt)
);

-- Down Migration

DROP TABLE delivery_attempts;
DROP TABLE deliveries;
DROP TABLE events;
DROP TABLE subscriptions;
