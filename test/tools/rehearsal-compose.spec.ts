import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { appReplica } from '../../tools/rehearsal/app-replicas';
import { composeService, interpolate, readComposeFile } from '../../tools/rehearsal/compose-services';
import { localPrometheusConfig } from '../../tools/rehearsal/prometheus';
import { PROMETHEUS_VERSION, TEMPORAL_SERVER_VERSION } from '../../tools/rehearsal/toolchain';

/**
 * The production rehearsal runs what compose runs: the same Temporal release and setup scripts, the api's and
 * worker's commands and environment, the Prometheus config. These checks keep the two from drifting apart.
 */
const compose = readComposeFile();
const { services } = compose;

describe('compose and the production rehearsal', () => {
  it('run one Temporal release and Prometheus release', () => {
    expect(services.temporal.image).toBe(`temporalio/server:${TEMPORAL_SERVER_VERSION}`);
    expect(services['temporal-schema'].image).toBe(`temporalio/admin-tools:${TEMPORAL_SERVER_VERSION}`);
    expect(services['temporal-setup'].image).toBe(`temporalio/admin-tools:${TEMPORAL_SERVER_VERSION}`);
    expect(services.prometheus.image).toBe(`prom/prometheus:v${PROMETHEUS_VERSION}`);
  });

  it('set Temporal up with the same scripts in deploy/temporal, and the server reads the same dynamic config', () => {
    const raw = services as unknown as Record<string, { entrypoint: string[]; volumes: string[] }>;
    expect(raw['temporal-schema'].entrypoint).toEqual(['/bin/sh', '/deploy/temporal/setup-schema.sh']);
    expect(raw['temporal-setup'].entrypoint).toEqual(['/bin/sh', '/deploy/temporal/setup-namespace.sh']);
    for (const job of ['temporal-schema', 'temporal-setup'])
      expect(raw[job].volumes).toEqual(['./deploy/temporal:/deploy/temporal:ro']);
    const server = composeService(compose, 'temporal', {}).environment;
    expect(raw.temporal.volumes).toEqual([
      `./deploy/temporal/dynamicconfig.yaml:${server.DYNAMIC_CONFIG_FILE_PATH}:ro`,
    ]);
    expect(server).toMatchObject({ DB: 'postgres12_pgx', NUM_HISTORY_SHARDS: '4' });
  });

  it("start each app replica with compose's command and environment, changing only where things are on the host", async () => {
    const logDir = mkdtempSync(join(tmpdir(), 'iaw-rehearsal-spec-'));
    try {
      const variables = {
        API_KEYS: 'rehearsal-spec-key-0123456789',
        SECRETS_MASTER_KEYS: 'k1:x',
        PUBLISH_RATE_LIMIT: '7',
      };
      const options = { compose, variables, databaseUrl: 'postgres://db', temporalAddress: '127.0.0.1:1', logDir };
      const hostSpecific: Record<string, string[]> = {
        api: ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'PORT', 'GRPC_PORT'],
        worker: ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'WORKER_METRICS_PORT', 'WORKER_SDK_METRICS_PORT'],
      };
      for (const kind of ['api', 'worker'] as const) {
        const { process: replica } = await appReplica(kind, 1, options);
        const expected = composeService(compose, kind, variables);
        expect(replica.spec.args).toEqual(expected.command.slice(1));
        const env = replica.spec.env;
        for (const [name, value] of Object.entries(expected.environment))
          if (!hostSpecific[kind].includes(name)) expect([name, env[name]]).toEqual([name, value]);
        const added = Object.keys(env).filter((name) => !(name in expected.environment));
        expect(added.sort()).toEqual(
          ['PATH', 'NODE_ENV', 'LOG_FORMAT', ...hostSpecific[kind]]
            .filter((name) => !(name in expected.environment))
            .sort(),
        );
        expect(env.PUBLISH_RATE_LIMIT).toBe('7');
        replica.close();
      }
    } finally {
      rmSync(logDir, { recursive: true, force: true });
    }
  });

  it("scrape with compose's Prometheus jobs, each pointed at the local replicas", () => {
    const targets = { api: ['127.0.0.1:1'], worker: ['127.0.0.1:2', '127.0.0.1:3'], temporal: ['127.0.0.1:4'] };
    const config = parse(localPrometheusConfig(targets)) as {
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[]; dns_sd_configs?: unknown }[];
    };
    expect(config.scrape_configs.map((job) => [job.job_name, job.static_configs, job.dns_sd_configs])).toEqual([
      ['api', [{ targets: targets.api }], undefined],
      ['worker', [{ targets: targets.worker }], undefined],
      ['temporal', [{ targets: targets.temporal }], undefined],
    ]);
    expect(() => localPrometheusConfig({ api: [], worker: [] })).toThrow(/job temporal/);
  });
});

describe("compose's variable interpolation, as the rehearsal applies it", () => {
  it.each([
    ['${A}', { A: 'x' }, 'x'],
    ['${A}', {}, ''],
    ['${A:-d}', {}, 'd'],
    ['${A:-d}', { A: '' }, 'd'],
    ['${A:-d}', { A: 'x' }, 'x'],
    ['a$${B}c', {}, 'a${B}c'],
    ['${A:-}', {}, ''],
  ])('%s with %j is %j', (value, variables, expected) => {
    expect(interpolate(value, variables)).toBe(expected);
  });

  it('refuses a required variable that is unset or empty, with its message', () => {
    expect(() => interpolate('${K:?set K}', {})).toThrow('K: set K');
    expect(() => interpolate('${K:?set K}', { K: '' })).toThrow('K: set K');
  });
});
