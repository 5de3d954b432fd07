-- Up Migration

-- A portal session: a one-time token (handed to an admin console, exchanged once by the browser) and the session
-- it becomes (the portal's cookie). Both are stored as SHA-256 digests only; both end at expires_at or when revoked.
CREATE TABLE portal_sessions (
  id            text PRIMARY KEY,
  tenant_id     text NOT NULL,
  token_hash    text NOT NULL UNIQUE,
  session_hash  text UNIQUE,
  created_by    text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  exchanged_at  timestamptz,
  revoked_at    timestamptz
);
CREATE INDEX portal_sessions_tenant_idx ON portal_sessions (tenant_id, id);

-- The attempts-per-hour chart of a subscription reads its last 24 h of attempts.
CREATE INDEX delivery_attempts_started_at_idx ON delivery_attempts (started_at);

-- Down Migration

DROP INDEX delivery_attempts_started_at_idx;
DROP TABLE portal_sessions;
