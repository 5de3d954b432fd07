-- Up Migration

-- The W3C traceparent of the publish request's span, when the api traces (OTEL_EXPORTER_OTLP_ENDPOINT): the outbox
-- relay starts the event's delivery runs inside that context, so one trace runs from the publish to every attempt.
ALTER TABLE events ADD COLUMN trace_parent text;

-- Down Migration

ALTER TABLE events DROP COLUMN trace_parent;
