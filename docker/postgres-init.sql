-- Runs once, when the postgres service starts on an empty data volume (docker-entrypoint-initdb.d).
-- The app gets its own database; Temporal's auto-setup creates `temporal` and `temporal_visibility` itself.
-- The api and the worker create the tables (node-pg-migrate) when they start.
CREATE DATABASE webhooks;
