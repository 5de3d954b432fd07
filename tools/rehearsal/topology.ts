import { chmodSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { SecretBox } from '../../libs/secrets/secret-box';
import { freePort } from '../embedded/free-port';
import { RunningPostgres, startEmbeddedPostgres } from '../embedded/postgres';
import { temporalCliPath } from '../embedded/toolchain';
import { AppReplica, appReplica } from './app-replicas';
import { readComposeFile } from './compose-services';
import { ManagedProcess } from './managed-process';
import { prometheus, RunningPrometheus } from './prometheus';
import { TcpBalancer } from './tcp-balancer';
import { PostgresAccess, runDeployScript, setUpTemporalSchema, temporalNode } from './temporal-cluster';
import { prometheusBinary, temporalServerBinaries } from './toolchain';

export interface TopologyOptions {
  apis: number;
  workers: number;
  temporalServers: number;
  /** History shards; undefined keeps compose's NUM_HISTORY_SHARDS. */
  shards?: number;
  /** Compose's variables for the app services (the delivery policy the run needs, the allowlist...). */
  variables: Record<string, string>;
  say: (message: string) => void;
}

/** The embedded Postgres binaries, whose superuser both Temporal's SQL tool and the app connect as. */
const POSTGRES_USER = 'webhooks';
const POSTGRES_PASSWORD = 'webhooks-local';

/**
 * The production topology as plain processes on 127.0.0.1: one Postgres holding the app's database and Temporal's
 * two, a cluster of Temporal servers (behind one balanced address, as a Service would front them), api and worker
 * replicas, and Prometheus scraping them all.
 */
export class Topology {
  readonly dir = mkdtempSync(join(tmpdir(), 'iaw-rehearsal-'));
  readonly logDir = join(this.dir, 'logs');
  readonly apiKey = `rehearsal-service-key-${Date.now()}`;
  postgres!: RunningPostgres;
  postgresPort = 0;
  temporal: { process: ManagedProcess; frontendPort: number; metricsPort: number }[] = [];
  balancer!: TcpBalancer;
  temporalAddress = '';
  apis: AppReplica[] = [];
  workers: AppReplica[] = [];
  prometheus!: RunningPrometheus;

  constructor(private readonly options: TopologyOptions) {
    chmodSync(this.dir, 0o755); // embedded Postgres runs as an unprivileged user under root
    mkdirSync(this.logDir);
  }

  get postgresAccess(): PostgresAccess {
    return { host: '127.0.0.1', port: this.postgresPort, user: POSTGRES_USER, password: POSTGRES_PASSWORD };
  }

  get processes(): ManagedProcess[] {
    return [...this.temporal, ...this.apis, ...this.workers].map((part) => part.process);
  }

  async start(): Promise<void> {
    const { say } = this.options;
    const compose = readComposeFile();
    const binaries = temporalServerBinaries(say);
    const promBinary = prometheusBinary(say);
    const cli = temporalCliPath(undefined, say);
    if (!cli) throw new Error('the temporal CLI is needed to register the namespace; install Go so it can be built');

    this.postgresPort = await freePort();
    await this.startPostgres();
    await setUpTemporalSchema(binaries, this.postgresAccess, this.logDir);
    say('Temporal schema created and migrated (deploy/temporal/setup-schema.sh)');
    for (let i = 1; i <= this.options.temporalServers; i++) {
      const node = await temporalNode({
        index: i,
        compose,
        shards: this.options.shards,
        binaries,
        postgres: this.postgresAccess,
        logDir: this.logDir,
      });
      this.temporal.push(node);
      await node.process.start();
      say(`temporal-${i} serving on 127.0.0.1:${node.frontendPort}`);
    }
    this.balancer = new TcpBalancer(this.temporal.map((node) => node.frontendPort));
    this.temporalAddress = await this.balancer.listen();
    await runDeployScript(
      'setup-namespace.sh',
      { TEMPORAL_CLI: cli, TEMPORAL_ADDRESS: this.temporalAddress },
      this.logDir,
    );
    say('namespace and search attributes registered (deploy/temporal/setup-namespace.sh)');

    const replicaOptions = {
      compose,
      variables: {
        ...this.options.variables,
        API_KEYS: this.apiKey,
        SECRETS_MASTER_KEYS: SecretBox.generateKeyEntry('rehearsal'),
      },
      databaseUrl: this.postgres.url,
      temporalAddress: this.temporalAddress,
      logDir: this.logDir,
    };
    for (let i = 1; i <= this.options.apis; i++) this.apis.push(await appReplica('api', i, replicaOptions));
    for (let i = 1; i <= this.options.workers; i++) this.workers.push(await appReplica('worker', i, replicaOptions));
    // The first api migrates the app's database alone; the others then start side by side.
    await this.apis[0].process.start();
    await Promise.all([...this.apis.slice(1), ...this.workers].map((replica) => replica.process.start()));
    say(`${this.apis.length} apis and ${this.workers.length} workers ready`);

    const hostPort = (url: string) => url.replace('http://', '');
    this.prometheus = await prometheus(
      promBinary,
      {
        api: this.apis.map((replica) => hostPort(replica.url)),
        worker: this.workers.map((replica) => hostPort(replica.url)),
        temporal: this.temporal.map((node) => `127.0.0.1:${node.metricsPort}`),
      },
      this.dir,
      this.logDir,
    );
    await this.prometheus.process.start();
  }

  describe(): string {
    const shards = this.temporal[0]?.process.spec.env.NUM_HISTORY_SHARDS;
    return (
      `1 Postgres, ${this.temporal.length} Temporal servers (${shards} history shards), ` +
      `${this.apis.length} apis, ${this.workers.length} workers, Prometheus`
    );
  }

  async startPostgres(): Promise<void> {
    this.postgres = await startEmbeddedPostgres(join(this.dir, 'postgres'), this.postgresPort);
  }

  /** Postgres stopped (fast shutdown), down for `downMs`, started again on the same data and port. */
  async restartPostgres(downMs: number): Promise<void> {
    await this.postgres.stop();
    await new Promise((resolve) => setTimeout(resolve, downMs));
    await this.startPostgres();
  }

  /**
   * How many server processes each Temporal service has in the cluster's membership table (alive ones): every
   * process runs all four services, so when the servers form one cluster each service counts all of them.
   */
  async membersPerService(): Promise<number> {
    const client = new Client({ ...this.postgresAccess, database: 'temporal' });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(DISTINCT rpc_port)::int AS n FROM cluster_membership WHERE record_expiry > now() GROUP BY role`,
      );
      return rows.length === 0 ? 0 : Math.min(...rows.map((row) => row.n));
    } finally {
      await client.end();
    }
  }

  /** Commits and rows written so far per database of the one Postgres (the app's and Temporal's two). */
  async databaseWrites(): Promise<Record<string, { commits: number; rowsWritten: number }>> {
    const client = new Client({ ...this.postgresAccess, database: 'postgres' });
    await client.connect();
    try {
      const { rows } = await client.query<{ datname: string; commits: string; written: string }>(
        `SELECT datname, xact_commit::text AS commits, (tup_inserted + tup_updated + tup_deleted)::text AS written
           FROM pg_stat_database WHERE datname = ANY($1::text[])`,
        [['webhooks', 'temporal', 'temporal_visibility']],
      );
      return Object.fromEntries(
        rows.map((row) => [row.datname, { commits: Number(row.commits), rowsWritten: Number(row.written) }]),
      );
    } finally {
      await client.end();
    }
  }

  async stop(): Promise<void> {
    const stopAll = (parts: { process: ManagedProcess }[]) => Promise.all(parts.map((part) => part.process.stop()));
    await stopAll([...this.apis, ...this.workers]).catch(() => undefined);
    if (this.prometheus) await this.prometheus.process.stop().catch(() => undefined);
    await stopAll(this.temporal).catch(() => undefined);
    await this.balancer?.close();
    await this.postgres?.stop().catch(() => undefined);
    for (const part of [...this.processes, this.prometheus?.process]) part?.close();
  }
}
