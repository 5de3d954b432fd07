import { DEFAULT_DELIVERY_POLICY as DEFAULT_POLICY } from '../contracts/delivery-policy';
import { MAX_IN_FLIGHT_LIMIT, MAX_PER_SECOND_LIMIT } from '../contracts/throttle-policy';
import { allowlist, egressProxy, frameAncestors, hostPort, trustProxy, url } from './address-readers';
import {
  count,
  duration,
  durationList,
  durationOrOff,
  flag,
  keys,
  masterKeys,
  oneOf,
  port,
  slots,
  tenantId,
  text,
} from './readers';
import { optional, setting } from './setting';

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

const DAY_MS = 86_400_000;

/**
 * Every variable the api and the worker read, once, grouped as loadConfig returns them: name, who reads it, reader,
 * default, and what it does, one line each so it reads as a table. docs/configuration.md says more of each; a unit
 * test keeps the two in step.
 */
// prettier-ignore
export const APP_SETTINGS = {
  port: setting('PORT', 'api', port(), 3000, 'the REST API port'),
  grpcPort: setting('GRPC_PORT', 'api', port(), 50051, 'the gRPC port'),
  trustProxy: setting('TRUST_PROXY', 'api', trustProxy(), false, "which proxies' X-Forwarded-* headers count (Fastify's trustProxy)"),
  databaseUrl: optional('DATABASE_URL', 'both', url('postgres:', 'postgresql:'), 'required', 'the Postgres database'),
  temporalAddress: optional('TEMPORAL_ADDRESS', 'both', hostPort(), 'required', 'host:port of a Temporal frontend'),
  temporalNamespace: setting('TEMPORAL_NAMESPACE', 'both', text(), 'default', 'the Temporal namespace'),
  temporalTaskQueue: setting('TEMPORAL_TASK_QUEUE', 'both', text(), 'webhook-delivery', "the delivery workflows' task queue"),
  apiKeys: setting('API_KEYS', 'api', keys(16), [], 'service keys, which act for every tenant'),
  outboundAllowlist: setting('WEBHOOK_ALLOWED_TARGETS', 'both', allowlist(), [], 'private CIDRs, addresses and hostnames webhooks may reach'),
  egressProxy: optional('WEBHOOK_EGRESS_PROXY', 'both', egressProxy(), 'unset: straight out', 'every outbound request leaves through this proxy (CONNECT)'),
  secretsMasterKeys: optional('SECRETS_MASTER_KEYS', 'both', masterKeys(), 'required', 'the keyring that seals signing secrets at rest'),
  publishRatePerTenant: setting('PUBLISH_RATE_LIMIT', 'api', count(), 1000, 'events per second each tenant may publish, per api process'),
  replayMaxWindowMs: setting('REPLAY_MAX_WINDOW', 'api', duration({ positive: true }), 7 * DAY_MS, 'the longest window (to - from) one replay takes'),
  delivery: {
    retryScheduleMs: setting('WEBHOOK_RETRY_SCHEDULE', 'both', durationList(), DEFAULT_POLICY.retryScheduleMs, 'the wait before each attempt'),
    attemptTimeoutMs: setting('WEBHOOK_ATTEMPT_TIMEOUT', 'both', duration({ positive: true }), DEFAULT_POLICY.attemptTimeoutMs, 'the budget of one attempt'),
    ttlMs: setting('WEBHOOK_TTL', 'both', duration({ positive: true }), DEFAULT_POLICY.ttlMs, 'no attempt starts this long after the event occurred'),
  },
  failureDisableAfterMs: setting('SUBSCRIPTION_FAILURE_DISABLE_AFTER', 'worker', durationOrOff('never disables'), 5 * DAY_MS,
    'a subscription whose every attempt has failed this long is disabled'),
  /** When webhook.subscription.failing warns, once per run of failures, before the disable above. */
  failingWarning: {
    afterMs: setting('SUBSCRIPTION_FAILING_WARN_AFTER', 'worker', durationOrOff('never warns by time'), 3_600_000,
      'a subscription whose every attempt has failed this long is warned'),
    onDeadLetter: setting('SUBSCRIPTION_FAILING_WARN_ON_DEAD_LETTER', 'worker', flag(), true,
      'a failing subscription is warned at its first dead letter'),
  },
  platformTenantId: setting('PLATFORM_TENANT_ID', 'both', tenantId(), 'tnt_platform', "the tenant that receives every tenant's operational events"),
  /** Limits of a subscription that sets none of its own, enforced across every worker; 0: no cap. */
  subscriptionLimits: {
    maxInFlight: setting('SUBSCRIPTION_MAX_IN_FLIGHT', 'worker', count(MAX_IN_FLIGHT_LIMIT), 10, 'attempts in flight at once'),
    maxPerSecond: setting('SUBSCRIPTION_MAX_PER_SECOND', 'worker', count(MAX_PER_SECOND_LIMIT), 0, 'attempts started per second'),
  },
  /** What the retention-purge schedule deletes from Postgres; 0 keeps everything of that kind. */
  retention: {
    retentionMs: setting('RETENTION', 'both', durationOrOff('keeps everything'), 30 * DAY_MS, 'events and ended deliveries (the api bounds replays by it)'),
    deadLetterRetentionMs: setting('DEAD_LETTER_RETENTION', 'worker', durationOrOff('keeps everything'), 30 * DAY_MS, 'how long dead letters are kept'),
    // Temporal Schedules take intervals in whole seconds.
    purgeIntervalMs: setting('RETENTION_PURGE_INTERVAL', 'worker', duration({ atLeast: 1_000 }), 3_600_000, 'how often the purge runs'),
    // Rows deleted per statement, so a purge never holds many locks or one long transaction.
    batchSize: 1_000,
  },
  /** The worker's slots and cache. */
  worker: {
    workflowTaskSlots: setting('WORKER_WORKFLOW_TASK_SLOTS', 'worker', slots(2), 300, 'workflow tasks at once, each held while its local attempt runs'),
    localActivitySlots: setting('WORKER_LOCAL_ACTIVITY_SLOTS', 'worker', slots(1), 300, 'local activities (attempts, state records) at once'),
    activitySlots: setting('WORKER_ACTIVITY_SLOTS', 'worker', slots(1), 100, 'activity tasks (bulk redrives) at once'),
    cachedWorkflows: setting('WORKER_CACHED_WORKFLOWS', 'worker', slots(0), 1000, 'workflows kept in memory between tasks'),
  },
  workerMetricsPort: setting('WORKER_METRICS_PORT', 'worker', port(), 9091, "the worker's /metrics, /healthz and /readyz; 0 takes a free port"),
  workerSdkMetricsPort: setting('WORKER_SDK_METRICS_PORT', 'worker', port(), 9092, "the Temporal SDK's exporter, on 127.0.0.1; 0 turns it off"),
  logLevel: setting('LOG_LEVEL', 'both', oneOf(LOG_LEVELS), 'info', 'the lowest level logged'),
  logFormat: optional('LOG_FORMAT', 'both', oneOf(['json', 'pretty'] as const), 'terminal: `pretty`, else `json`', 'json lines or pretty'),
  portal: {
    sessionTtlMs: setting('PORTAL_SESSION_TTL', 'api', duration({ atLeast: 60_000 }), 3_600_000, "a portal session's one-time token and the session"),
    frameAncestors: setting('PORTAL_FRAME_ANCESTORS', 'api', frameAncestors(), "'self'", 'the CSP frame-ancestors that may embed the portal'),
  },
  listenSessionTtlMs: setting('LISTEN_SESSION_TTL', 'api', duration({ atLeast: 1_000 }), 60_000, "a listen session ends this long after its tool's last poll"),
  /** OpenTelemetry tracing; the exporter itself reads the other OTEL_* variables. */
  tracing: {
    otlpEndpoint: optional('OTEL_EXPORTER_OTLP_ENDPOINT', 'both', url('http:', 'https:'), 'unset: no tracing', 'where spans go, OTLP over HTTP'),
    propagateToReceivers: setting('OTEL_PROPAGATE_TO_RECEIVERS', 'both', flag(), false, 'whether attempts carry traceparent to receivers'),
  },
  /** What one client may hold of the api. */
  clientLimits: {
    requestTimeoutMs: setting('HTTP_REQUEST_TIMEOUT', 'api', duration({ positive: true }), 30_000, 'the whole request must arrive within this'),
    connectionTimeoutMs: setting('HTTP_CONNECTION_TIMEOUT', 'api', duration(), 30_000, 'a connection silent this long is closed'),
    keepAliveTimeoutMs: setting('HTTP_KEEP_ALIVE_TIMEOUT', 'api', duration({ positive: true }), 5_000, 'an idle keep-alive connection is kept this long'),
    maxConnections: setting('HTTP_MAX_CONNECTIONS', 'api', count(), 1_000, 'connections held at once; 0: no cap'),
    gaugesRefreshMs: setting('METRICS_REFRESH_INTERVAL', 'api', duration({ positive: true }), 15_000, "how often /metrics' database gauges are read"),
    unknownKeyCacheMs: setting('UNKNOWN_KEY_CACHE_TTL', 'api', durationOrOff('turns the cache off'), 5_000, 'an unknown key is refused without a lookup'),
  },
  /** What one statement or transaction of the api's and the worker's pools may hold of Postgres; 0: no limit. */
  database: {
    statementTimeoutMs: setting('DATABASE_STATEMENT_TIMEOUT', 'both', durationOrOff('sets no limit'), 30_000, 'a statement running longer is cancelled'),
    poolTimeoutMs: setting('DATABASE_POOL_TIMEOUT', 'both', durationOrOff('waits forever'), 10_000, 'the wait for a pooled connection'),
    idleInTransactionTimeoutMs: setting('DATABASE_IDLE_IN_TRANSACTION_TIMEOUT', 'both', durationOrOff('sets no limit'), 60_000,
      'a session idle in a transaction is ended'),
  },
  /** Per-tenant quotas; 0 turns one off. */
  quotas: {
    subscriptions: setting('TENANT_MAX_SUBSCRIPTIONS', 'api', count(), 100, 'subscriptions (not deleted) per tenant'),
    apiKeys: setting('TENANT_MAX_API_KEYS', 'api', count(), 20, 'tenant keys (not revoked) per tenant'),
    portalSessions: setting('TENANT_MAX_PORTAL_SESSIONS', 'api', count(), 20, 'portal sessions (live) per tenant'),
    runningReplays: setting('TENANT_MAX_RUNNING_REPLAYS', 'api', count(), 3, 'replays running at once per tenant'),
    testSendsPerMinute: setting('TEST_SEND_RATE_LIMIT', 'api', count(), 10, 'test sends per tenant per minute, per api process'),
    rotationsPerMinute: setting('SECRET_ROTATION_RATE_LIMIT', 'api', count(), 5, 'secret rotations per subscription per minute, per api process'),
  },
};
