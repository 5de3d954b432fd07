import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { DeliveryPolicy, DEFAULT_DELIVERY_POLICY } from '../contracts/delivery-policy';
import { TENANT_ID_PATTERN } from '../contracts/ids';
import { MAX_IN_FLIGHT_LIMIT, MAX_PER_SECOND_LIMIT, SubscriptionLimits } from '../contracts/throttle-policy';
import { AllowlistEntryError, parseAllowlist } from '../outbound/address-policy';
import { SecretBox } from '../secrets/secret-box';
import { parseDuration } from './durations';
import { projectRoot } from './project-root';

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

export interface AppConfig {
  port: number;
  grpcPort: number;
  /** TRUST_PROXY: which proxies' X-Forwarded-* headers count (Fastify's trustProxy): none (false), all, a hop count, or addresses/CIDRs. */
  trustProxy: TrustProxy;
  databaseUrl: string | undefined;
  temporalAddress: string | undefined;
  temporalNamespace: string;
  temporalTaskQueue: string;
  temporalCliPath: string | undefined;
  dataDir: string;
  apiKeys: string[];
  /** WEBHOOK_ALLOWED_TARGETS: CIDRs and exact hostnames webhooks may reach although private (normalised); empty refuses every private address. */
  outboundAllowlist: string[];
  /** SECRETS_MASTER_KEYS: the keyring that seals signing secrets at rest (validated here, opened by SecretBox). */
  secretsMasterKeys: string | undefined;
  /** Events per second each tenant may publish (per api process); 0 turns the limit off. */
  publishRatePerTenant: number;
  delivery: DeliveryPolicy;
  /** SUBSCRIPTION_FAILURE_DISABLE_AFTER: a subscription whose every attempt has failed this long is disabled (`failing`); 0 never. */
  failureDisableAfterMs: number;
  /** PLATFORM_TENANT_ID: the tenant whose subscriptions receive every tenant's operational events (`webhook.*`), and only those. */
  platformTenantId: string;
  /** Limits of a subscription that sets none of its own, enforced across every worker; 0: no cap. */
  subscriptionLimits: SubscriptionLimits;
  retention: RetentionPolicy;
  worker: WorkerTuning;
  /** WORKER_METRICS_PORT: the worker's own endpoint (/metrics with the Temporal SDK's metrics, /healthz, /readyz); 0 takes a free port. */
  workerMetricsPort: number;
  /** WORKER_SDK_METRICS_PORT: where the Temporal SDK runtime's Prometheus exporter listens, on 127.0.0.1 only (the worker's /metrics carries its output); 0 turns it off. */
  workerSdkMetricsPort: number;
  /** LOG_LEVEL: trace, debug, info, warn, error, fatal or silent. */
  logLevel: LogLevel;
  /** LOG_FORMAT: json (one JSON object per line) or pretty; unset, pretty when stdout is a terminal and json otherwise. */
  logFormat: 'json' | 'pretty' | undefined;
  portal: PortalSettings;
  tracing: TracingSettings;
  clientLimits: ClientLimits;
  database: DatabaseLimits;
  quotas: TenantQuotas;
}

/** What one client may hold of the api (README: "Limits for clients"). */
export interface ClientLimits {
  /** HTTP_REQUEST_TIMEOUT: the whole request (headers and body) must arrive within this; else 408 and the connection closes. */
  requestTimeoutMs: number;
  /** HTTP_CONNECTION_TIMEOUT: a connection with no bytes either way for this long is closed (longer than any handler waits). */
  connectionTimeoutMs: number;
  /** HTTP_KEEP_ALIVE_TIMEOUT: how long an idle keep-alive connection is kept for its next request. */
  keepAliveTimeoutMs: number;
  /** HTTP_MAX_CONNECTIONS: connections held at once; beyond it a new one is closed at once. 0: no cap. */
  maxConnections: number;
  /** METRICS_REFRESH_INTERVAL: how often /metrics' database gauges are read in the background (scrapes read memory). */
  gaugesRefreshMs: number;
  /** UNKNOWN_KEY_CACHE_TTL: how long a bearer key found in no table is refused without asking Postgres again. 0: off. */
  unknownKeyCacheMs: number;
}

/** What one statement or transaction of the api and worker pools may hold of Postgres. 0: no limit. */
export interface DatabaseLimits {
  /** DATABASE_STATEMENT_TIMEOUT: Postgres cancels a statement running longer. */
  statementTimeoutMs: number;
  /** DATABASE_POOL_TIMEOUT: how long a query waits for a pooled connection (or a new one to open) before failing. */
  poolTimeoutMs: number;
  /** DATABASE_IDLE_IN_TRANSACTION_TIMEOUT: Postgres ends a session that sits idle this long inside a transaction. */
  idleInTransactionTimeoutMs: number;
}

/** Per-tenant quotas (README: "Limits for clients"). 0 turns one off. */
export interface TenantQuotas {
  /** TENANT_MAX_SUBSCRIPTIONS: subscriptions (not deleted) per tenant. */
  subscriptions: number;
  /** TENANT_MAX_API_KEYS: tenant keys not revoked per tenant. */
  apiKeys: number;
  /** TENANT_MAX_PORTAL_SESSIONS: portal sessions neither expired nor revoked per tenant. */
  portalSessions: number;
  /** TEST_SEND_RATE_LIMIT: test sends per tenant per minute (per api process). */
  testSendsPerMinute: number;
  /** SECRET_ROTATION_RATE_LIMIT: secret rotations per subscription per minute (per api process). */
  rotationsPerMinute: number;
}

/** The tenant portal (README: "Tenant portal"). */
export interface PortalSettings {
  /** PORTAL_SESSION_TTL: how long a portal session's one-time token, and the session it is exchanged for, last. */
  sessionTtlMs: number;
  /** PORTAL_FRAME_ANCESTORS: the CSP frame-ancestors sources allowed to embed the portal in an iframe. */
  frameAncestors: string;
}

/** OpenTelemetry tracing (README: "Traces"); the exporter itself reads the other OTEL_* variables. */
export interface TracingSettings {
  /** OTEL_EXPORTER_OTLP_ENDPOINT: where spans go (OTLP over HTTP); unset, tracing is off and costs nothing. */
  otlpEndpoint: string | undefined;
  /** OTEL_PROPAGATE_TO_RECEIVERS: whether deliveries carry `traceparent` to receivers (other companies): off by default. */
  propagateToReceivers: boolean;
}

/** Fastify's trustProxy forms this configuration takes. */
export type TrustProxy = boolean | number | string[];

/** proxy-addr's names for address ranges, which Fastify's trustProxy takes beside addresses and CIDRs. */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The worker's slots and cache (README: "Worker tuning"). */
export interface WorkerTuning {
  /** Workflow tasks at once; each one is held while its local attempt runs (up to the attempt timeout). */
  workflowTaskSlots: number;
  /** Local activities (attempts and state records) at once. */
  localActivitySlots: number;
  /** Activity tasks at once: bulk redrives, and attempts of runs started before attempts became local. */
  activitySlots: number;
  /** Workflows kept in memory between tasks (waiting deliveries beyond it are replayed from history when they wake). */
  cachedWorkflows: number;
}

/** What the retention-purge schedule deletes from Postgres; 0 keeps everything of that kind. */
export interface RetentionPolicy {
  /** RETENTION: events, and deliveries that ended delivered or cancelled (with their attempts), older than this. */
  retentionMs: number;
  /** DEAD_LETTER_RETENTION: dead letters (with their attempts), counted from when they were dead-lettered. */
  deadLetterRetentionMs: number;
  /** RETENTION_PURGE_INTERVAL: how often the Temporal Schedule runs the purge. */
  purgeIntervalMs: number;
  /** Rows deleted per statement, so a purge never holds many locks or one long transaction. */
  batchSize: number;
}

const THIRTY_DAYS_MS = 30 * 86_400_000;

type Env = Record<string, string | undefined>;

/** A TCP port from `env[name]`; `lowest` is 1 where 0 (a free port, or off) means nothing. Also read by the launcher (tools/). */
export function readPort(env: Env, name: string, fallback: number, lowest: 0 | 1 = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < lowest || port > 65535)
    throw new ConfigError(name, `"${raw}" is not a TCP port (${lowest}-65535)`);
  return port;
}

function readDuration(env: Env, name: string, fallbackMs: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallbackMs;
  const value = parseDuration(raw);
  if (value === undefined) throw new ConfigError(name, `"${raw}" is not a duration such as 10s, 5m or 24h`);
  return value;
}

function readPositiveDuration(env: Env, name: string, fallbackMs: number): number {
  const value = readDuration(env, name, fallbackMs);
  if (value <= 0) throw new ConfigError(name, 'must be above 0');
  return value;
}

/** A duration where 0 (any unit, or a bare 0) turns something off: `zero` says what, in the error message. */
function readDurationOrOff(env: Env, name: string, fallbackMs: number, zero: string): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallbackMs;
  if (raw.trim() === '0') return 0;
  const value = parseDuration(raw);
  if (value === undefined)
    throw new ConfigError(name, `"${raw}" is not a duration such as 30d, 12h or 90m (0 ${zero})`);
  return value;
}

function readTenantId(env: Env, name: string, fallback: string): string {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!TENANT_ID_PATTERN.test(raw))
    throw new ConfigError(name, `"${raw}" is not a tenant id (1-128 of A-Z a-z 0-9 _ . : -)`);
  return raw;
}

function readSchedule(env: Env, name: string, fallback: number[]): number[] {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  return raw.split(',').map((entry, index) => {
    const value = parseDuration(entry);
    if (value === undefined) {
      throw new ConfigError(name, `entry ${index + 1} "${entry.trim()}" is not a duration such as 0s, 1m or 12h`);
    }
    return value;
  });
}

function readUrl(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `"${raw.replace(/\/\/[^@/]*@/, '//***@')}" is not a URL`);
  }
  if (!protocols.includes(url.protocol)) throw new ConfigError(name, `expected a ${protocols.join(' or ')} URL`);
  return raw;
}

function readAllowlist(env: Env, name: string): string[] {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return [];
  try {
    return parseAllowlist(raw.split(',')).entries;
  } catch (error) {
    if (error instanceof AllowlistEntryError)
      throw new ConfigError(
        name,
        `${error.message}; expected comma-separated CIDRs (10.0.0.0/8, fd00::/8), addresses or exact hostnames`,
      );
    throw error;
  }
}

function readHostPort(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!/^[^\s:/]+:\d{1,5}$/.test(raw)) throw new ConfigError(name, `"${raw}" is not host:port`);
  return raw;
}

function readCount(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d{1,9}$/.test(raw.trim()))
    throw new ConfigError(name, `"${raw}" is not a whole number (0 turns the limit off)`);
  return Number(raw.trim());
}

function readLimit(env: Env, name: string, fallback: number, maximum: number): number {
  const value = readCount(env, name, fallback);
  if (value > maximum)
    throw new ConfigError(name, `${value} is above the largest limit, ${maximum} (0 turns the limit off)`);
  return value;
}

function readSlots(env: Env, name: string, fallback: number, minimum: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d{1,6}$/.test(raw.trim()) || Number(raw.trim()) < minimum)
    throw new ConfigError(name, `"${raw}" is not a whole number of at least ${minimum}`);
  return Number(raw.trim());
}

function readChoice<T extends string>(env: Env, name: string, choices: readonly T[]): T | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!(choices as readonly string[]).includes(raw))
    throw new ConfigError(name, `"${raw}" is not one of ${choices.join(', ')}`);
  return raw as T;
}

/** CSP frame-ancestors sources: 'self', 'none', or origins (https://console.example.com, https://*.example.com). */
function readFrameAncestors(env: Env, name: string): string {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return "'self'";
  const sources = raw.trim().split(/\s+/);
  const bad = sources.find((source) => !/^('self'|'none'|https?:\/\/(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?)$/.test(source));
  if (bad !== undefined)
    throw new ConfigError(
      name,
      `"${bad}" is not a frame-ancestors source; expected 'self', 'none' or origins such as https://console.example.com, space-separated`,
    );
  return sources.join(' ');
}

function readTrustProxy(env: Env, name: string): TrustProxy {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '' || raw === 'false') return false;
  if (raw === 'true') return true;
  if (/^\d{1,3}$/.test(raw) && Number(raw) >= 1) return Number(raw);
  const entries = raw.split(',').map((entry) => entry.trim());
  const bad = entries.find((entry) => {
    if (PROXY_RANGE_NAMES.includes(entry)) return false;
    const [address, prefix, ...rest] = entry.split('/');
    const family = isIP(address);
    if (family === 0 || rest.length > 0) return true;
    return prefix !== undefined && !(/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
  });
  if (bad !== undefined)
    throw new ConfigError(
      name,
      `"${bad}" is not a proxy address; expected true, false, a hop count (1, 2…) or comma-separated addresses and CIDRs (10.0.0.0/8, ::1, loopback)`,
    );
  return entries;
}

function readBoolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new ConfigError(name, `"${env[name]}" is not true or false`);
}

function readMasterKeys(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  try {
    SecretBox.parse(raw);
  } catch (error) {
    // The message names the entry's shape, never its key material.
    throw new ConfigError(name, `${(error as Error).message}; expected id:base64-of-32-bytes[,id:…], newest first`);
  }
  return raw;
}

export function loadConfig(env: Env = process.env): AppConfig {
  const apiKeys = (env.API_KEYS ?? '')
    .split(',')
    .map((key) => key.trim())
    .filter((key) => key.length > 0);
  const shortKey = apiKeys.find((key) => key.length < 16);
  if (shortKey !== undefined) throw new ConfigError('API_KEYS', 'every key must be at least 16 characters');

  const retryScheduleMs = readSchedule(env, 'WEBHOOK_RETRY_SCHEDULE', DEFAULT_DELIVERY_POLICY.retryScheduleMs);
  const attemptTimeoutMs = readDuration(env, 'WEBHOOK_ATTEMPT_TIMEOUT', DEFAULT_DELIVERY_POLICY.attemptTimeoutMs);
  if (attemptTimeoutMs <= 0) throw new ConfigError('WEBHOOK_ATTEMPT_TIMEOUT', 'must be above 0');
  const ttlMs = readDuration(env, 'WEBHOOK_TTL', DEFAULT_DELIVERY_POLICY.ttlMs);
  if (ttlMs <= 0) throw new ConfigError('WEBHOOK_TTL', 'must be above 0');
  const purgeIntervalMs = readDuration(env, 'RETENTION_PURGE_INTERVAL', 3_600_000);
  // Temporal Schedules take intervals in whole seconds.
  if (purgeIntervalMs < 1_000) throw new ConfigError('RETENTION_PURGE_INTERVAL', 'must be at least 1s');
  const portalSessionTtlMs = readDuration(env, 'PORTAL_SESSION_TTL', 3_600_000);
  if (portalSessionTtlMs < 60_000) throw new ConfigError('PORTAL_SESSION_TTL', 'must be at least 1m');
  const connectionTimeoutMs = readDuration(env, 'HTTP_CONNECTION_TIMEOUT', 30_000);
  // A test send waits for the receiver up to the attempt timeout with nothing on the wire.
  if (connectionTimeoutMs <= attemptTimeoutMs)
    throw new ConfigError(
      'HTTP_CONNECTION_TIMEOUT',
      `must be longer than WEBHOOK_ATTEMPT_TIMEOUT (${attemptTimeoutMs} ms), which a test send may wait for`,
    );

  return {
    port: readPort(env, 'PORT', 3000),
    grpcPort: readPort(env, 'GRPC_PORT', 50051),
    trustProxy: readTrustProxy(env, 'TRUST_PROXY'),
    databaseUrl: readUrl(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    temporalAddress: readHostPort(env, 'TEMPORAL_ADDRESS'),
    temporalNamespace: env.TEMPORAL_NAMESPACE || 'default',
    temporalTaskQueue: env.TEMPORAL_TASK_QUEUE || 'webhook-delivery',
    temporalCliPath: env.TEMPORAL_CLI_PATH || undefined,
    dataDir: resolve(projectRoot(), env.DATA_DIR || '.data'),
    apiKeys,
    outboundAllowlist: readAllowlist(env, 'WEBHOOK_ALLOWED_TARGETS'),
    secretsMasterKeys: readMasterKeys(env, 'SECRETS_MASTER_KEYS'),
    publishRatePerTenant: readCount(env, 'PUBLISH_RATE_LIMIT', 1000),
    delivery: { retryScheduleMs, attemptTimeoutMs, ttlMs },
    failureDisableAfterMs: readDurationOrOff(
      env,
      'SUBSCRIPTION_FAILURE_DISABLE_AFTER',
      5 * 86_400_000,
      'never disables',
    ),
    platformTenantId: readTenantId(env, 'PLATFORM_TENANT_ID', 'tnt_platform'),
    subscriptionLimits: {
      maxInFlight: readLimit(env, 'SUBSCRIPTION_MAX_IN_FLIGHT', 10, MAX_IN_FLIGHT_LIMIT),
      maxPerSecond: readLimit(env, 'SUBSCRIPTION_MAX_PER_SECOND', 0, MAX_PER_SECOND_LIMIT),
    },
    retention: {
      retentionMs: readDurationOrOff(env, 'RETENTION', THIRTY_DAYS_MS, 'keeps everything'),
      deadLetterRetentionMs: readDurationOrOff(env, 'DEAD_LETTER_RETENTION', THIRTY_DAYS_MS, 'keeps everything'),
      purgeIntervalMs,
      batchSize: 1_000,
    },
    worker: {
      workflowTaskSlots: readSlots(env, 'WORKER_WORKFLOW_TASK_SLOTS', 300, 2),
      localActivitySlots: readSlots(env, 'WORKER_LOCAL_ACTIVITY_SLOTS', 300, 1),
      activitySlots: readSlots(env, 'WORKER_ACTIVITY_SLOTS', 100, 1),
      cachedWorkflows: readSlots(env, 'WORKER_CACHED_WORKFLOWS', 1000, 0),
    },
    workerMetricsPort: readPort(env, 'WORKER_METRICS_PORT', 9091),
    workerSdkMetricsPort: readPort(env, 'WORKER_SDK_METRICS_PORT', 9092),
    logLevel: readChoice(env, 'LOG_LEVEL', LOG_LEVELS) ?? 'info',
    logFormat: readChoice(env, 'LOG_FORMAT', ['json', 'pretty'] as const),
    portal: { sessionTtlMs: portalSessionTtlMs, frameAncestors: readFrameAncestors(env, 'PORTAL_FRAME_ANCESTORS') },
    tracing: {
      otlpEndpoint: readUrl(env, 'OTEL_EXPORTER_OTLP_ENDPOINT', ['http:', 'https:']),
      propagateToReceivers: readBoolean(env, 'OTEL_PROPAGATE_TO_RECEIVERS', false),
    },
    clientLimits: {
      requestTimeoutMs: readPositiveDuration(env, 'HTTP_REQUEST_TIMEOUT', 30_000),
      connectionTimeoutMs,
      keepAliveTimeoutMs: readPositiveDuration(env, 'HTTP_KEEP_ALIVE_TIMEOUT', 5_000),
      maxConnections: readCount(env, 'HTTP_MAX_CONNECTIONS', 1_000),
      gaugesRefreshMs: readPositiveDuration(env, 'METRICS_REFRESH_INTERVAL', 15_000),
      unknownKeyCacheMs: readDurationOrOff(env, 'UNKNOWN_KEY_CACHE_TTL', 5_000, 'turns the cache off'),
    },
    database: {
      statementTimeoutMs: readDurationOrOff(env, 'DATABASE_STATEMENT_TIMEOUT', 30_000, 'sets no limit'),
      poolTimeoutMs: readDurationOrOff(env, 'DATABASE_POOL_TIMEOUT', 10_000, 'waits forever'),
      idleInTransactionTimeoutMs: readDurationOrOff(
        env,
        'DATABASE_IDLE_IN_TRANSACTION_TIMEOUT',
        60_000,
        'sets no limit',
      ),
    },
    quotas: {
      subscriptions: readCount(env, 'TENANT_MAX_SUBSCRIPTIONS', 100),
      apiKeys: readCount(env, 'TENANT_MAX_API_KEYS', 20),
      portalSessions: readCount(env, 'TENANT_MAX_PORTAL_SESSIONS', 20),
      testSendsPerMinute: readCount(env, 'TEST_SEND_RATE_LIMIT', 10),
      rotationsPerMinute: readCount(env, 'SECRET_ROTATION_RATE_LIMIT', 5),
    },
  };
}

/** Processes that cannot run without these fail at start with the variable named. */
export function requireSetting<T>(value: T | undefined, variable: string): T {
  if (value === undefined || (Array.isArray(value) && value.length === 0)) {
    throw new ConfigError(variable, 'is required (npm start sets it for the embedded default)');
  }
  return value;
}
