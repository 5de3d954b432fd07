import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { contractTool } from '../contract/tools';

/**
 * The Helm chart (deploy/helm), linted and rendered by Helm without a cluster, and held to what docker-compose.yml
 * runs: the same commands and environment for the api and the worker, secrets only as Secret references, probes
 * and scrape annotations on the ports compose checks and Prometheus scrapes.
 */
const ROOT = join(__dirname, '..', '..');
const CHART = 'deploy/helm/intelliauth-webhooks';
const RELEASE = 'prod';
const FULLNAME = `${RELEASE}-intelliauth-webhooks`;
const file = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** Compose interpolates these from the operator's shell; the chart reads them from Secrets. */
const SECRETS = ['DATABASE_URL', 'SECRETS_MASTER_KEYS', 'API_KEYS'];
/** Compose's points at its own `temporal` service; the chart's at an existing cluster (temporal.address). */
const CLUSTER_ADDRESS = 'TEMPORAL_ADDRESS';

interface ComposeService {
  command: string[];
  environment: Record<string, string>;
  healthcheck: { test: string[] };
  stop_grace_period?: string;
}
const compose = parse(file('docker-compose.yml'), { merge: true }) as { services: Record<string, ComposeService> };

/** A compose value as it is with nothing set in the shell: `${NAME:-default}` is its default. */
const composeDefault = (value: string) => value.replace(/\$\{\w+:-([^}]*)\}/g, '$1');

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef: { name: string; key: string } };
}
interface Probe {
  httpGet: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  command: string[];
  env: EnvVar[];
  ports: { name: string; containerPort: number }[];
  startupProbe: Probe;
  livenessProbe: Probe;
  readinessProbe: Probe;
  resources: { requests: Record<string, string>; limits: Record<string, string> };
}
interface PodTemplate {
  metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    containers: Container[];
    securityContext: { runAsNonRoot: boolean; runAsUser: number };
    terminationGracePeriodSeconds?: number;
  };
}
interface Manifest {
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  spec: any;
  stringData?: Record<string, string>;
}

function helm(...args: string[]) {
  const result = spawnSync(contractTool('TEST_HELM'), args, { cwd: ROOT, encoding: 'utf8' });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** `--set` for each of `name=value`. */
const setting = (values: string[]) => values.flatMap((value) => ['--set', value]);

function render(...set: string[]) {
  const rendered = helm('template', RELEASE, CHART, ...setting(set));
  if (rendered.status !== 0) throw new Error(`helm template failed: ${rendered.output}`);
  const manifests = parseAllDocuments(rendered.output)
    .map((document) => document.toJS() as Manifest | null)
    .filter((manifest): manifest is Manifest => manifest !== null);
  const find = (kind: string, name: string) => {
    const found = manifests.find((manifest) => manifest.kind === kind && manifest.metadata.name === name);
    if (!found) throw new Error(`no ${kind} ${name} rendered`);
    return found;
  };
  const pod = (component: string) => find('Deployment', `${FULLNAME}-${component}`).spec.template as PodTemplate;
  return {
    text: rendered.output,
    manifests,
    find,
    pod,
    container: (component: string) => pod(component).spec.containers[0],
  };
}

/** The container port a probe or Service names, as a number. */
const portNumber = (container: Container, port: string | number) =>
  typeof port === 'number' ? port : container.ports.find((candidate) => candidate.name === port)?.containerPort;

/** The environment as the process sees it: plain values, and `secret:<Secret>/<key>` for Secret references. */
const environment = (container: Container) =>
  Object.fromEntries(
    container.env.map(({ name, value, valueFrom }) => [
      name,
      valueFrom ? `secret:${valueFrom.secretKeyRef.name}/${valueFrom.secretKeyRef.key}` : value,
    ]),
  );

const OVERRIDES = [
  'api.replicas=3',
  'worker.replicas=5',
  'temporal.address=temporal-frontend.temporal.svc:7233',
  'temporal.namespace=webhooks',
  'temporal.taskQueue=webhook-delivery-eu',
  'secrets.databaseUrl.existingSecret=webhooks-app',
  'secrets.databaseUrl.key=uri',
  'secrets.apiKeys.existingSecret=webhooks-operator-keys',
  'secrets.secretsMasterKeys.existingSecret=webhooks-sealing',
];

describe('the Helm chart', () => {
  it.each([
    ['default values', []],
    ['overrides', OVERRIDES],
  ])('passes helm lint --strict with %s', (_, set) => {
    const linted = helm('lint', '--strict', CHART, ...setting(set));
    expect(linted).toMatchObject({
      status: 0,
      output: expect.stringContaining('1 chart(s) linted, 0 chart(s) failed'),
    });
  });

  it('renders the api (Deployment and Service), the worker, a PodDisruptionBudget for each and the migration hook, and no Secret', () => {
    const { manifests } = render();
    expect(manifests.map(({ kind, metadata }) => `${kind} ${metadata.name}`).sort()).toEqual([
      `Deployment ${FULLNAME}-api`,
      `Deployment ${FULLNAME}-worker`,
      `Job ${FULLNAME}-migrations`,
      `PodDisruptionBudget ${FULLNAME}-api`,
      `PodDisruptionBudget ${FULLNAME}-worker`,
      `Service ${FULLNAME}-api`,
    ]);
  });

  describe.each(['api', 'worker'])('the %s Deployment', (component) => {
    const service = compose.services[component];
    let container: ReturnType<typeof render>['container'];
    let pod: ReturnType<typeof render>['pod'];
    let find: ReturnType<typeof render>['find'];
    beforeAll(() => ({ container, pod, find } = render()));

    it("runs the image of the chart's appVersion (package.json's version) with compose's command", () => {
      const { version } = JSON.parse(file('package.json')) as { version: string };
      expect(container(component).image).toBe(`intelliauth-webhooks:${version}`);
      expect(container(component).command).toEqual(service.command);
    });

    it("has every variable compose gives it, with compose's defaults, the secrets from Secrets", () => {
      const env = environment(container(component));
      const expected = Object.fromEntries(
        Object.entries(service.environment).map(([name, value]) => [
          name,
          SECRETS.includes(name) ? `secret:intelliauth-webhooks/${name}` : composeDefault(value),
        ]),
      );
      expect(Object.keys(expected)).toEqual(expect.arrayContaining(['DATABASE_URL', 'SECRETS_MASTER_KEYS']));
      expect(env[CLUSTER_ADDRESS]).toBe('temporal-frontend:7233');
      expect({ ...env, [CLUSTER_ADDRESS]: expected[CLUSTER_ADDRESS] }).toEqual(expected);
    });

    it("probes /healthz (startup, liveness) and /readyz (readiness) on the port compose's health check uses", () => {
      const probed = container(component);
      const [, composePort] = /http:\/\/127\.0\.0\.1:(\d+)\/readyz/.exec(service.healthcheck.test.join(' ')) ?? [];
      const probes = (['startupProbe', 'livenessProbe', 'readinessProbe'] as const).map((probe) => [
        probe,
        probed[probe].httpGet.path,
        portNumber(probed, probed[probe].httpGet.port),
      ]);
      expect(probes).toEqual([
        ['startupProbe', '/healthz', Number(composePort)],
        ['livenessProbe', '/healthz', Number(composePort)],
        ['readinessProbe', '/readyz', Number(composePort)],
      ]);
      expect(composePort).toBe(component === 'api' ? '3000' : '9091');
    });

    it('is scraped by Prometheus on that port at /metrics', () => {
      expect(pod(component).metadata.annotations).toEqual({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': component === 'api' ? '3000' : '9091',
        'prometheus.io/path': '/metrics',
      });
    });

    it("runs as the Dockerfile's unprivileged user, with resource requests and limits", () => {
      const [, uid] = /^USER (\d+)/m.exec(file('Dockerfile')) ?? [];
      expect(pod(component).spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: Number(uid) });
      expect(Number(uid)).toBe(1000);
      const { requests, limits } = container(component).resources;
      expect([Object.keys(requests).sort(), Object.keys(limits).sort()]).toEqual([
        ['cpu', 'memory'],
        ['cpu', 'memory'],
      ]);
    });

    it('has a PodDisruptionBudget selecting its pods, and only those', () => {
      const budget = find('PodDisruptionBudget', `${FULLNAME}-${component}`).spec;
      const deployment = find('Deployment', `${FULLNAME}-${component}`).spec;
      expect(budget).toEqual({ maxUnavailable: 1, selector: deployment.selector });
      const other = component === 'api' ? 'worker' : 'api';
      expect(pod(other).metadata.labels).not.toMatchObject(budget.selector.matchLabels);
    });
  });

  it("gives the worker compose's stop grace period, which its 20 s drain needs", () => {
    const [, seconds] = /^(\d+)s$/.exec(compose.services.worker.stop_grace_period ?? '') ?? [];
    expect(render().pod('worker').spec.terminationGracePeriodSeconds).toBe(Number(seconds));
    expect(seconds).toBe('30');
  });

  it("serves the api's REST and gRPC ports through its Service, to api pods only", () => {
    const { find, pod, container } = render();
    const { spec } = find('Service', `${FULLNAME}-api`);
    expect(
      spec.ports.map((port: any) => [port.name, port.port, portNumber(container('api'), port.targetPort)]),
    ).toEqual([
      ['http', 3000, 3000],
      ['grpc', 50051, 50051],
    ]);
    expect(pod('api').metadata.labels).toMatchObject(spec.selector);
    expect(pod('worker').metadata.labels).not.toMatchObject(spec.selector);
  });

  it('migrates before an upgrade replaces any pod, with the function the api and the worker run as they start', () => {
    const job = render().find('Job', `${FULLNAME}-migrations`);
    expect(job.metadata.annotations).toMatchObject({ 'helm.sh/hook': 'pre-upgrade' });
    const [migrations] = (job.spec.template as PodTemplate).spec.containers;
    expect(migrations.command).toEqual([
      'node',
      '-e',
      "require('./dist/libs/db/migrate').migrate(process.env.DATABASE_URL)",
    ]);
    expect(file('libs/db/migrate.ts')).toContain('export async function migrate(databaseUrl: string)');
    for (const main of ['apps/api/src/main.ts', 'apps/worker/src/main.ts'])
      expect([main, file(main)]).toEqual([
        main,
        expect.stringContaining("await migrate(requireSetting(config.databaseUrl, 'DATABASE_URL'))"),
      ]);
    expect(environment(migrations)).toEqual({ DATABASE_URL: 'secret:intelliauth-webhooks/DATABASE_URL' });
    expect(render('migrations.hookOnUpgrade=false').manifests.map(({ kind }) => kind)).not.toContain('Job');
  });

  it('takes replicas, the Temporal cluster and each secret reference from the values', () => {
    const { find, container } = render(...OVERRIDES);
    expect(find('Deployment', `${FULLNAME}-api`).spec.replicas).toBe(3);
    expect(find('Deployment', `${FULLNAME}-worker`).spec.replicas).toBe(5);
    const temporal = {
      TEMPORAL_ADDRESS: 'temporal-frontend.temporal.svc:7233',
      TEMPORAL_NAMESPACE: 'webhooks',
      TEMPORAL_TASK_QUEUE: 'webhook-delivery-eu',
    };
    expect(environment(container('api'))).toMatchObject({
      ...temporal,
      DATABASE_URL: 'secret:webhooks-app/uri',
      API_KEYS: 'secret:webhooks-operator-keys/API_KEYS',
      SECRETS_MASTER_KEYS: 'secret:webhooks-sealing/SECRETS_MASTER_KEYS',
    });
    expect(environment(container('worker'))).toMatchObject({
      ...temporal,
      DATABASE_URL: 'secret:webhooks-app/uri',
      SECRETS_MASTER_KEYS: 'secret:webhooks-sealing/SECRETS_MASTER_KEYS',
    });
    expect(environment(container('worker'))).not.toHaveProperty('API_KEYS');
  });

  it('keeps a secret given as a value in a Secret of its own, referenced like the others and written nowhere else', () => {
    const key = 'helm-check-operator-key-0123456789';
    const { manifests, find, container, text } = render(`secrets.apiKeys.value=${key}`);
    expect(find('Secret', FULLNAME).stringData).toEqual({ API_KEYS: key });
    expect(environment(container('api'))).toMatchObject({
      API_KEYS: `secret:${FULLNAME}/API_KEYS`,
      DATABASE_URL: 'secret:intelliauth-webhooks/DATABASE_URL',
    });
    expect(text.split(key).length - 1).toBe(1);
    expect(manifests.filter(({ kind }) => kind === 'Secret')).toHaveLength(1);
  });

  it('runs every container with its root filesystem read-only and a writable /tmp of its pod', () => {
    const { find } = render();
    for (const [kind, name] of [
      ['Deployment', 'api'],
      ['Deployment', 'worker'],
      ['Job', 'migrations'],
    ]) {
      const { spec } = find(kind, `${FULLNAME}-${name}`).spec.template;
      expect(spec.volumes).toEqual([{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }]);
      expect(spec.containers[0].securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      expect(spec.containers[0].volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
    }
  });

  it('leaves the replicas to a HorizontalPodAutoscaler on CPU when autoscaling is enabled', () => {
    const { find } = render(
      'api.autoscaling.enabled=true',
      'worker.autoscaling.enabled=true',
      'worker.autoscaling.maxReplicas=20',
    );
    for (const [component, max] of [
      ['api', 6],
      ['worker', 20],
    ] as const) {
      expect(find('Deployment', `${FULLNAME}-${component}`).spec).not.toHaveProperty('replicas');
      expect(find('HorizontalPodAutoscaler', `${FULLNAME}-${component}`).spec).toEqual({
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: `${FULLNAME}-${component}` },
        minReplicas: 2,
        maxReplicas: max,
        metrics: [
          { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
        ],
      });
    }
  });

  it("routes an Ingress's hosts to the api's http port, with its class and TLS, and refuses one with no host", () => {
    const { find } = render(
      'api.ingress.enabled=true',
      'api.ingress.className=nginx',
      'api.ingress.hosts[0].host=webhooks.example.com',
      'api.ingress.tls[0].secretName=webhooks-tls',
      'api.ingress.tls[0].hosts[0]=webhooks.example.com',
    );
    expect(find('Ingress', `${FULLNAME}-api`).spec).toEqual({
      ingressClassName: 'nginx',
      tls: [{ secretName: 'webhooks-tls', hosts: ['webhooks.example.com'] }],
      rules: [
        {
          host: 'webhooks.example.com',
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: { service: { name: `${FULLNAME}-api`, port: { name: 'http' } } },
              },
            ],
          },
        },
      ],
    });
    const refused = helm('template', RELEASE, CHART, ...setting(['api.ingress.enabled=true']));
    expect(refused.status).not.toBe(0);
    expect(refused.output).toContain('api.ingress.hosts: name at least one host');
  });

  it("has a PodMonitor scrape the api's http and the worker's metrics port, each pod's component as its job", () => {
    const { find, container } = render('podMonitor.enabled=true');
    const { spec } = find('PodMonitor', FULLNAME);
    expect(spec.selector.matchLabels).toEqual({
      'app.kubernetes.io/name': 'intelliauth-webhooks',
      'app.kubernetes.io/instance': RELEASE,
    });
    expect(
      spec.podMetricsEndpoints.map((endpoint: { port: string; path: string }) => [endpoint.port, endpoint.path]),
    ).toEqual([
      ['http', '/metrics'],
      ['metrics', '/metrics'],
    ]);
    expect(container('api').ports.map((port) => port.name)).toContain('http');
    expect(container('worker').ports.map((port) => port.name)).toContain('metrics');
    for (const endpoint of spec.podMetricsEndpoints)
      expect(endpoint.relabelings).toEqual([
        { sourceLabels: ['__meta_kubernetes_pod_label_app_kubernetes_io_component'], targetLabel: 'job' },
      ]);
  });

  it('refuses to render a secret with neither a Secret to read nor a value', () => {
    const refused = helm('template', RELEASE, CHART, ...setting(['secrets.databaseUrl.existingSecret=']));
    expect(refused.status).not.toBe(0);
    expect(refused.output).toContain('DATABASE_URL: name an existingSecret');
  });
});
