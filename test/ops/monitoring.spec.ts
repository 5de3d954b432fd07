import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { contractTool } from '../contract/tools';

/**
 * The compose stack's monitoring, checked without a Docker engine: the Prometheus config and every query of the
 * dashboard by promtool, the dashboard's structure against the provisioned data source, the compose file by
 * Docker Compose itself.
 */
const ROOT = join(__dirname, '..', '..');
const file = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** What the api and the worker export (docs/operations.md, "Monitoring"); the dashboard may query nothing else. */
const METRICS = [
  'webhook_events_published_total',
  'webhook_publish_duration_seconds',
  'webhook_outbox_backlog',
  'webhook_outbox_oldest_age_seconds',
  'webhook_dead_letters_waiting',
  'webhook_subscriptions_disabled',
  'webhook_attempts_total',
  'webhook_attempt_duration_seconds',
  'webhook_deliveries_ended_total',
  'webhook_first_attempt_latency_seconds',
  'webhook_outbox_starts_total',
  'temporal_worker_task_slots_used',
  'temporal_worker_task_slots_available',
  // Prometheus's own, per scrape target.
  'up',
];

interface Target {
  refId: string;
  expr: string;
  datasource: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets: Target[];
}

const dashboard = JSON.parse(file('docker/grafana/dashboards/webhooks.json')) as {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
};
const datasources = parse(file('docker/grafana/provisioning/datasources/prometheus.yml')) as {
  datasources: { uid: string; type: string; url: string }[];
};
const provider = parse(file('docker/grafana/provisioning/dashboards/webhooks.yml')) as {
  providers: { type: string; options: { path: string } }[];
};

function run(command: string, args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env } });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('Prometheus', () => {
  it('has a config promtool accepts, scraping every api and worker replica and the Temporal server through compose DNS', () => {
    const checked = run(contractTool('TEST_PROMTOOL'), ['check', 'config', 'docker/prometheus/prometheus.yml']);
    expect(checked).toMatchObject({ status: 0, output: expect.stringContaining('SUCCESS') });
    const config = parse(file('docker/prometheus/prometheus.yml')) as {
      scrape_configs: { job_name: string; dns_sd_configs: unknown[] }[];
    };
    expect(config.scrape_configs.map(({ job_name, dns_sd_configs }) => [job_name, dns_sd_configs])).toEqual([
      ['api', [expect.objectContaining({ names: ['api'], type: 'A', port: 3000 })]],
      ['worker', [expect.objectContaining({ names: ['worker'], type: 'A', port: 9091 })]],
      ['temporal', [expect.objectContaining({ names: ['temporal'], type: 'A', port: 8000 })]],
    ]);
  });
});

describe('the Grafana dashboard', () => {
  const panels = dashboard.panels;
  const targets = panels.flatMap((panel) => panel.targets.map((target) => ({ panel, target })));

  it('is a dashboard Grafana can provision: uid, schema version, panels with unique ids on the 24-column grid, none overlapping', () => {
    expect(dashboard).toMatchObject({
      uid: 'intelliauth-webhooks',
      title: 'IntelliAuth Webhooks',
      schemaVersion: expect.any(Number),
    });
    expect(new Set(panels.map((panel) => panel.id)).size).toBe(panels.length);
    for (const { type, gridPos, targets: panelTargets } of panels) {
      expect(['stat', 'timeseries']).toContain(type);
      expect(gridPos.x + gridPos.w).toBeLessThanOrEqual(24);
      expect(panelTargets.length).toBeGreaterThan(0);
      expect(new Set(panelTargets.map((target) => target.refId)).size).toBe(panelTargets.length);
    }
    const cells = new Set<string>();
    for (const { id, gridPos } of panels) {
      for (let x = gridPos.x; x < gridPos.x + gridPos.w; x++) {
        for (let y = gridPos.y; y < gridPos.y + gridPos.h; y++) {
          expect([id, cells.has(`${x},${y}`)]).toEqual([id, false]);
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  it('queries the provisioned Prometheus data source, which the provider loads it beside', () => {
    expect(datasources.datasources).toEqual([
      expect.objectContaining({ type: 'prometheus', url: 'http://prometheus:9090' }),
    ]);
    const [{ uid }] = datasources.datasources;
    for (const { panel, target } of targets) {
      expect([panel.title, panel.datasource]).toEqual([panel.title, { type: 'prometheus', uid }]);
      expect([panel.title, target.datasource]).toEqual([panel.title, { type: 'prometheus', uid }]);
    }
    expect(provider.providers).toEqual([
      expect.objectContaining({ type: 'file', options: { path: '/etc/grafana/dashboards' } }),
    ]);
  });

  it.each([
    ['Deliveries/s', /webhook_deliveries_ended_total/],
    ['Success ratio', /webhook_attempts_total\{outcome="delivered"\}/],
    ['Attempt duration p50 / p99', /histogram_quantile\(0\.99, .*webhook_attempt_duration_seconds_bucket/],
    ['Publish -> first attempt p50 / p99', /histogram_quantile\(0\.99, .*webhook_first_attempt_latency_seconds_bucket/],
    ['Outbox backlog and age', /webhook_outbox_oldest_age_seconds/],
    ['Outbox backlog and age', /webhook_outbox_backlog/],
    ['Dead letters waiting', /webhook_dead_letters_waiting/],
    ['Worker slots in use', /temporal_worker_task_slots_used/],
  ])('has the panel "%s" querying %s', (title, query) => {
    const panel = panels.find((candidate) => candidate.title === title);
    expect(panel?.targets.map((target) => target.expr)).toContainEqual(expect.stringMatching(query));
  });

  it('queries only the metrics the api and the worker export, in PromQL that promtool parses', () => {
    const used = new Set(
      targets
        .flatMap(({ target }) => target.expr.match(/\b(?:webhook|temporal)_[a-z_]+|\bup\b/g) ?? [])
        .map((name) => name.replace(/_bucket$/, '')),
    );
    expect([...used].filter((name) => !METRICS.includes(name))).toEqual([]);

    // Grafana's own interval variable is the one template in the queries; promtool gets a fixed window instead.
    const rules = {
      groups: [
        {
          name: 'dashboard',
          rules: targets.map(({ panel, target }) => ({
            record: `dashboard:panel_${panel.id}_${target.refId}`,
            expr: target.expr.replaceAll('$__rate_interval', '5m'),
          })),
        },
      ],
    };
    expect(rules.groups[0].rules.filter((rule) => rule.expr.includes('$'))).toEqual([]);
    const dir = mkdtempSync(join(tmpdir(), 'iaw-dashboard-rules-'));
    try {
      writeFileSync(join(dir, 'rules.yml'), stringify(rules));
      const checked = run(contractTool('TEST_PROMTOOL'), ['check', 'rules', join(dir, 'rules.yml')]);
      expect(checked).toMatchObject({
        status: 0,
        output: expect.stringContaining(`SUCCESS: ${targets.length} rules found`),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('docker-compose.yml', () => {
  const required = {
    API_KEYS: 'compose-check-key-0123456789',
    SECRETS_MASTER_KEYS: 'k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
    GRAFANA_ADMIN_PASSWORD: 'compose-check-password',
  };
  const compose = (...args: string[]) => composeWith(required, ...args);
  const composeWith = (env: Record<string, string>, ...args: string[]) =>
    run(
      contractTool('TEST_DOCKER_COMPOSE'),
      ['--project-directory', ROOT, '-f', join(ROOT, 'docker-compose.yml'), ...args],
      env,
    );

  it('is valid for Docker Compose, and wires Prometheus and Grafana to the files in docker/ and the worker metrics port', () => {
    expect(compose('config', '--quiet')).toEqual({ status: 0, output: '' });
    const { services } = JSON.parse(compose('config', '--format', 'json').output) as { services: Record<string, any> };
    const mounts = (service: string) =>
      services[service].volumes
        .filter((v: any) => v.type === 'bind')
        .map((v: any) => [v.source.slice(ROOT.length), v.target, v.read_only]);
    expect(mounts('prometheus')).toEqual([
      ['/docker/prometheus/prometheus.yml', '/etc/prometheus/prometheus.yml', true],
    ]);
    expect(mounts('grafana')).toEqual([
      ['/docker/grafana/provisioning', '/etc/grafana/provisioning', true],
      ['/docker/grafana/dashboards', '/etc/grafana/dashboards', true],
    ]);
    expect(services.worker.environment.WORKER_METRICS_PORT).toBe('9091');
    // Health checks: readiness on the api's port and the worker's metrics port.
    expect(services.api.healthcheck.test.join(' ')).toContain('http://127.0.0.1:3000/readyz');
    expect(services.worker.healthcheck.test.join(' ')).toContain('http://127.0.0.1:9091/readyz');
    // Scalable: no fixed host port or container name on the worker.
    expect(services.worker.ports).toBeUndefined();
    expect(services.worker.container_name).toBeUndefined();
  });

  it('publishes what has no authentication on the host only, and has no default Grafana password', () => {
    const { services } = JSON.parse(compose('config', '--format', 'json').output) as { services: Record<string, any> };
    const published = Object.entries(services).flatMap(([name, service]) =>
      (service.ports ?? []).map((port: any) => [name, port.host_ip ?? '*', port.published, port.target]),
    );
    expect(published).toEqual([
      ['api', '*', '3000', 3000],
      ['api', '*', '50051', 50051],
      ['grafana', '127.0.0.1', '3001', 3000],
      ['prometheus', '127.0.0.1', '9090', 9090],
      ['temporal', '127.0.0.1', '7233', 7233],
      ['temporal-ui', '127.0.0.1', '8233', 8080],
    ]);
    expect(services.grafana.environment.GF_SECURITY_ADMIN_PASSWORD).toBe('compose-check-password');
    // Blank rather than removed, so a value in the shell running the tests does not leak in (`:?` refuses both).
    const unset = composeWith({ ...required, GRAFANA_ADMIN_PASSWORD: '' }, 'config', '--quiet');
    expect(unset.status).not.toBe(0);
    expect(unset.output).toContain('GRAFANA_ADMIN_PASSWORD');
  });
});
