-- Up Migration

-- What a receiver's front door asks of each attempt besides the signature, every secret in it sealed by the
-- master keyring (v1:<key id>:…) like the signing secrets:
--   headers    [{"name", "value" (sealed), "secret"}]: added to every attempt; a non-secret one is shown in answers
--   oauth2     {"token_url", "client_id", "client_secret" (sealed), "scope", "audience", "client_auth"}
--   tls_client {"certificate", "private_key" (sealed), "ca", "subject", "issuer", "expires_at"}
ALTER TABLE subscriptions
  ADD COLUMN headers    jsonb,
  ADD COLUMN oauth2     jsonb,
  ADD COLUMN tls_client jsonb,
  -- When the operational event about the client certificate's coming expiry was emitted (NULL: not yet for this one).
  ADD COLUMN tls_client_expiry_warned_at timestamptz;

-- The access token every worker shares for a subscription's OAuth2 credentials, so a token is fetched once per
-- lifetime rather than once per process. `credentials` fingerprints the settings it was fetched with: a token of
-- changed settings is never used. The token is sealed; renew_at is shortly before it expires, when no attempt
-- uses it any more.
CREATE TABLE oauth2_tokens (
  subscription_id text PRIMARY KEY REFERENCES subscriptions (id) ON DELETE CASCADE,
  credentials     text NOT NULL,
  access_token    text NOT NULL,
  renew_at        timestamptz NOT NULL
);

-- Down Migration

DROP TABLE oauth2_tokens;
ALTER TABLE subscriptions DROP COLUMN tls_client_expiry_warned_at, DROP COLUMN tls_client, DROP COLUMN oauth2,
  DROP COLUMN headers;
