import { APP_SETTINGS } from '../../libs/config/app-settings';
import { loadConfig } from '../../libs/config/config';
import { formatDuration } from '../../libs/config/durations';
import { ConfigError } from '../../libs/config/readers';
import { listSettings } from '../../libs/config/setting';
import { DEFAULT_DELIVERY_POLICY } from '../../libs/contracts/delivery-policy';
import { SecretBox } from '../../libs/secrets/secret-box';

describe('configuration', () => {
  it('defaults to the default delivery policy and port 3000', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.delivery).toEqual(DEFAULT_DELIVERY_POLICY);
    expect(config.apiKeys).toEqual([]);
  });

  it('reads a shorter schedule, timeout and TTL for staging and tests', () => {
    const config = loadConfig({
      WEBHOOK_RETRY_SCHEDULE: '0s, 500ms,2s',
      WEBHOOK_ATTEMPT_TIMEOUT: '2s',
      WEBHOOK_TTL: '1h',
      API_KEYS: 'key-one-0123456789, key-two-0123456789',
    });
    expect(config.delivery).toEqual({ retryScheduleMs: [0, 500, 2000], attemptTimeoutMs: 2000, ttlMs: 3_600_000 });
    expect(config.apiKeys).toEqual(['key-one-0123456789', 'key-two-0123456789']);
  });

  it.each([
    ['PORT', 'eighty', /PORT/],
    ['PORT', '70000', /PORT/],
    ['WEBHOOK_RETRY_SCHEDULE', '0s,soon', /WEBHOOK_RETRY_SCHEDULE: entry 2 "soon"/],
    ['WEBHOOK_ATTEMPT_TIMEOUT', '10', /WEBHOOK_ATTEMPT_TIMEOUT/],
    ['WEBHOOK_TTL', '0s', /WEBHOOK_TTL/],
    ['DATABASE_URL', 'mysql://x', /DATABASE_URL/],
    ['TEMPORAL_ADDRESS', 'http://localhost:7233', /TEMPORAL_ADDRESS/],
    ['API_KEYS', 'short', /API_KEYS/],
    ['WORKER_WORKFLOW_TASK_SLOTS', '1', /WORKER_WORKFLOW_TASK_SLOTS: "1" is not a whole number of at least 2/],
    ['WORKER_LOCAL_ACTIVITY_SLOTS', 'many', /WORKER_LOCAL_ACTIVITY_SLOTS/],
    ['WORKER_CACHED_WORKFLOWS', '-5', /WORKER_CACHED_WORKFLOWS/],
    ['WORKER_METRICS_PORT', 'metrics', /WORKER_METRICS_PORT: "metrics" is not a TCP port/],
    ['WORKER_SDK_METRICS_PORT', '99999', /WORKER_SDK_METRICS_PORT/],
    ['LOG_LEVEL', 'verbose', /LOG_LEVEL: "verbose" is not one of trace, debug, info, warn, error, fatal, silent/],
    ['LOG_FORMAT', 'xml', /LOG_FORMAT: "xml" is not one of json, pretty/],
    ['RETENTION', '30', /RETENTION: "30" is not a duration/],
    ['RETENTION', 'forever', /RETENTION/],
    ['DEAD_LETTER_RETENTION', '-1d', /DEAD_LETTER_RETENTION/],
    ['RETENTION_PURGE_INTERVAL', '0s', /RETENTION_PURGE_INTERVAL: must be at least 1s/],
    ['RETENTION_PURGE_INTERVAL', 'hourly', /RETENTION_PURGE_INTERVAL/],
    ['SUBSCRIPTION_MAX_IN_FLIGHT', 'ten', /SUBSCRIPTION_MAX_IN_FLIGHT: "ten" is not a whole number/],
    ['SUBSCRIPTION_MAX_IN_FLIGHT', '1001', /SUBSCRIPTION_MAX_IN_FLIGHT: 1001 is above the largest limit, 1000/],
    ['SUBSCRIPTION_MAX_PER_SECOND', '-1', /SUBSCRIPTION_MAX_PER_SECOND/],
    ['SUBSCRIPTION_MAX_PER_SECOND', '10001', /SUBSCRIPTION_MAX_PER_SECOND: 10001 is above the largest limit, 10000/],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'collector:4318', /OTEL_EXPORTER_OTLP_ENDPOINT: expected a http: or https: URL/],
    ['OTEL_PROPAGATE_TO_RECEIVERS', 'yes', /OTEL_PROPAGATE_TO_RECEIVERS: "yes" is not true or false/],
    [
      'SUBSCRIPTION_FAILURE_DISABLE_AFTER',
      '5',
      /SUBSCRIPTION_FAILURE_DISABLE_AFTER: "5" is not a duration.*0 never disables/,
    ],
    ['SUBSCRIPTION_FAILURE_DISABLE_AFTER', 'a week', /SUBSCRIPTION_FAILURE_DISABLE_AFTER/],
    ['PLATFORM_TENANT_ID', 'platform tenant', /PLATFORM_TENANT_ID: "platform tenant" is not a tenant id/],
    ['HTTP_REQUEST_TIMEOUT', '0s', /HTTP_REQUEST_TIMEOUT: must be above 0/],
    ['HTTP_CONNECTION_TIMEOUT', '10s', /HTTP_CONNECTION_TIMEOUT: must be longer than WEBHOOK_ATTEMPT_TIMEOUT/],
    ['HTTP_MAX_CONNECTIONS', 'lots', /HTTP_MAX_CONNECTIONS: "lots" is not a whole number/],
    ['DATABASE_STATEMENT_TIMEOUT', '30', /DATABASE_STATEMENT_TIMEOUT: "30" is not a duration.*0 sets no limit/],
    ['UNKNOWN_KEY_CACHE_TTL', 'brief', /UNKNOWN_KEY_CACHE_TTL/],
    ['TENANT_MAX_SUBSCRIPTIONS', 'a hundred', /TENANT_MAX_SUBSCRIPTIONS/],
    ['TEST_SEND_RATE_LIMIT', '-1', /TEST_SEND_RATE_LIMIT/],
  ])('refuses %s=%s naming the variable', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });

  it('traces only with an OTLP endpoint, and keeps trace context from receivers unless told', () => {
    expect(loadConfig({}).tracing).toEqual({ otlpEndpoint: undefined, propagateToReceivers: false });
    expect(
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_PROPAGATE_TO_RECEIVERS: 'TRUE' }).tracing,
    ).toEqual({
      otlpEndpoint: 'http://collector:4318',
      propagateToReceivers: true,
    });
  });

  it('bounds clients, Postgres sessions and tenants by default, and reads each bound', () => {
    expect(loadConfig({})).toMatchObject({
      clientLimits: {
        requestTimeoutMs: 30_000,
        connectionTimeoutMs: 30_000,
        keepAliveTimeoutMs: 5_000,
        maxConnections: 1_000,
        gaugesRefreshMs: 15_000,
        unknownKeyCacheMs: 5_000,
      },
      database: { statementTimeoutMs: 30_000, poolTimeoutMs: 10_000, idleInTransactionTimeoutMs: 60_000 },
      quotas: { subscriptions: 100, apiKeys: 20, portalSessions: 20, testSendsPerMinute: 10, rotationsPerMinute: 5 },
    });
    expect(
      loadConfig({
        HTTP_REQUEST_TIMEOUT: '2s',
        HTTP_CONNECTION_TIMEOUT: '3s',
        WEBHOOK_ATTEMPT_TIMEOUT: '1s',
        HTTP_MAX_CONNECTIONS: '0',
        DATABASE_STATEMENT_TIMEOUT: '0',
        TENANT_MAX_SUBSCRIPTIONS: '3',
      }),
    ).toMatchObject({
      clientLimits: { requestTimeoutMs: 2_000, connectionTimeoutMs: 3_000, maxConnections: 0 },
      database: { statementTimeoutMs: 0 },
      quotas: { subscriptions: 3 },
    });
  });

  it('reads the worker tuning, with defaults sized for slow receivers', () => {
    expect(loadConfig({}).worker).toEqual({
      workflowTaskSlots: 300,
      localActivitySlots: 300,
      activitySlots: 100,
      cachedWorkflows: 1000,
    });
    expect(loadConfig({ WORKER_WORKFLOW_TASK_SLOTS: '400', WORKER_CACHED_WORKFLOWS: '0' }).worker).toMatchObject({
      workflowTaskSlots: 400,
      cachedWorkflows: 0,
    });
  });

  it('limits each subscription to 10 attempts in flight and no rate cap by default, 0 turning a limit off', () => {
    expect(loadConfig({}).subscriptionLimits).toEqual({ maxInFlight: 10, maxPerSecond: 0 });
    expect(
      loadConfig({ SUBSCRIPTION_MAX_IN_FLIGHT: '0', SUBSCRIPTION_MAX_PER_SECOND: '50' }).subscriptionLimits,
    ).toEqual({ maxInFlight: 0, maxPerSecond: 50 });
  });

  it('serves the worker endpoint on 9091 and the Temporal SDK exporter beside it on 9092 by default', () => {
    expect(loadConfig({})).toMatchObject({ workerMetricsPort: 9091, workerSdkMetricsPort: 9092 });
    expect(loadConfig({ WORKER_METRICS_PORT: '0', WORKER_SDK_METRICS_PORT: '19092' })).toMatchObject({
      workerMetricsPort: 0,
      workerSdkMetricsPort: 19092,
    });
  });

  it('logs at info, in a format chosen by the terminal unless LOG_FORMAT says', () => {
    expect(loadConfig({})).toMatchObject({ logLevel: 'info', logFormat: undefined });
    expect(loadConfig({ LOG_LEVEL: 'debug', LOG_FORMAT: 'json' })).toMatchObject({
      logLevel: 'debug',
      logFormat: 'json',
    });
  });

  it('keeps events, deliveries and dead letters 30 days by default and purges every hour', () => {
    expect(loadConfig({}).retention).toEqual({
      retentionMs: 30 * 86_400_000,
      deadLetterRetentionMs: 30 * 86_400_000,
      purgeIntervalMs: 3_600_000,
      batchSize: 1000,
    });
  });

  it('reads retentions as durations, 0 keeping everything', () => {
    const config = loadConfig({ RETENTION: '7d', DEAD_LETTER_RETENTION: '0', RETENTION_PURGE_INTERVAL: '15m' });
    expect(config.retention).toMatchObject({
      retentionMs: 7 * 86_400_000,
      deadLetterRetentionMs: 0,
      purgeIntervalMs: 900_000,
    });
    expect(loadConfig({ RETENTION: '0s', DEAD_LETTER_RETENTION: '90d' }).retention).toMatchObject({
      retentionMs: 0,
      deadLetterRetentionMs: 90 * 86_400_000,
    });
  });

  it('gives portal sessions an hour and lets only the portal itself frame it, unless told', () => {
    expect(loadConfig({}).portal).toEqual({ sessionTtlMs: 3_600_000, frameAncestors: "'self'" });
    const config = loadConfig({
      PORTAL_SESSION_TTL: '15m',
      PORTAL_FRAME_ANCESTORS: " 'self'  https://console.example.com https://*.example.org:8443 ",
    });
    expect(config.portal).toEqual({
      sessionTtlMs: 900_000,
      frameAncestors: "'self' https://console.example.com https://*.example.org:8443",
    });
    expect(() => loadConfig({ PORTAL_SESSION_TTL: '10s' })).toThrow(/PORTAL_SESSION_TTL: must be at least 1m/);
    expect(() => loadConfig({ PORTAL_SESSION_TTL: 'soon' })).toThrow(/PORTAL_SESSION_TTL/);
    expect(() => loadConfig({ PORTAL_FRAME_ANCESTORS: "https://ok.example.com 'unsafe-inline'" })).toThrow(
      /PORTAL_FRAME_ANCESTORS: "'unsafe-inline'" is not a frame-ancestors source/,
    );
  });

  it('trusts no proxy by default, and takes TRUST_PROXY as true, false, a hop count or addresses and CIDRs', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: ' 10.0.0.0/8, ::1 ,fd00::/8,loopback,192.168.1.7' }).trustProxy).toEqual([
      '10.0.0.0/8',
      '::1',
      'fd00::/8',
      'loopback',
      '192.168.1.7',
    ]);
    for (const [raw, bad] of [
      ['yes', 'yes'],
      ['0', '0'],
      ['10.0.0.0/33', '10.0.0.0/33'],
      ['10.0.0.1,proxy.example.com', 'proxy.example.com'],
      ['::1/129', '::1/129'],
    ])
      expect(() => loadConfig({ TRUST_PROXY: raw })).toThrow(`TRUST_PROXY: "${bad}" is not a proxy address`);
  });

  it('disables a subscription failing for 5 days and sends operational events to tnt_platform by default', () => {
    expect(loadConfig({})).toMatchObject({ failureDisableAfterMs: 5 * 86_400_000, platformTenantId: 'tnt_platform' });
    expect(loadConfig({ SUBSCRIPTION_FAILURE_DISABLE_AFTER: '2s', PLATFORM_TENANT_ID: 'tnt_ops' })).toMatchObject({
      failureDisableAfterMs: 2000,
      platformTenantId: 'tnt_ops',
    });
    expect(loadConfig({ SUBSCRIPTION_FAILURE_DISABLE_AFTER: '0' }).failureDisableAfterMs).toBe(0);
  });

  it('shows each default as a value that reads back as that default', () => {
    const shown = listSettings(APP_SETTINGS).flatMap(({ variable, defaultText, read }) => {
      const text = /^`(.*)`$/.exec(defaultText)?.[1];
      return text === undefined ? [] : [{ variable, text, value: read({ [variable]: text }), fallback: read({}) }];
    });
    expect(shown.length).toBeGreaterThan(30);
    for (const { variable, text, value, fallback } of shown)
      expect({ variable, text, value }).toEqual({ variable, text, value: fallback });
  });

  it('writes durations in the largest whole unit, as they are read', () => {
    expect([0, 1_500, 90 * 60_000, 86_400_000, 30 * 86_400_000, 12 * 3_600_000].map(formatDuration)).toEqual([
      '0s',
      '1500ms',
      '90m',
      '1d',
      '30d',
      '12h',
    ]);
  });

  it('never repeats a database password in its error', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres://user:hunter2@db:port/x' })).toThrow(/\*\*\*/);
    expect(() => loadConfig({ DATABASE_URL: 'postgres://user:hunter2@db:port/x' })).not.toThrow(/hunter2/);
  });
});

describe('SECRETS_MASTER_KEYS', () => {
  it('takes id:base64-of-32-bytes entries, newest first', () => {
    const keys = `${SecretBox.generateKeyEntry('new')},${SecretBox.generateKeyEntry('old')}`;
    expect(loadConfig({ SECRETS_MASTER_KEYS: keys }).secretsMasterKeys).toBe(keys);
  });

  it.each(['k1', 'k1:c2hvcnQ=', 'bad id!:' + Buffer.alloc(32).toString('base64')])(
    'refuses %s without echoing key material',
    (value) => {
      expect(() => loadConfig({ SECRETS_MASTER_KEYS: value })).toThrow(/SECRETS_MASTER_KEYS/);
      expect(() => loadConfig({ SECRETS_MASTER_KEYS: value })).not.toThrow(/c2hvcnQ/);
    },
  );

  it('seals and opens with the newest key, and opens what an older key sealed', () => {
    const oldEntry = SecretBox.generateKeyEntry('old');
    const older = SecretBox.parse(oldEntry);
    const sealed = older.seal('whsec_abc');
    expect(sealed.startsWith('v1:old:')).toBe(true);
    expect(sealed).not.toContain('whsec_abc');
    const rotated = SecretBox.parse(`${SecretBox.generateKeyEntry('new')},${oldEntry}`);
    expect(rotated.open(sealed)).toBe('whsec_abc');
    expect(rotated.seal('whsec_abc').startsWith('v1:new:')).toBe(true);
    expect(() => SecretBox.parse(SecretBox.generateKeyEntry('other')).open(sealed)).toThrow(
      /not in SECRETS_MASTER_KEYS/,
    );
  });
});
