import { ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../tools/embedded/free-port';
import { TestClient } from './client';
import { eventually } from './eventually';

export interface LauncherSettings {
  dataDir: string;
  env: Record<string, string>;
  apiUrl: string;
  /** The worker's endpoint: /metrics, /healthz, /readyz. */
  workerUrl: string;
  apiKey: string;
  temporalAddress: string;
}

/** Free ports and a DATA_DIR of its own for `npm start` (dist/tools/start.js), kept across its restarts. */
export async function launcherSettings(extraEnv: Record<string, string> = {}): Promise<LauncherSettings> {
  const dataDir = mkdtempSync(join(tmpdir(), 'iaw-launcher-'));
  chmodSync(dataDir, 0o755); // embedded Postgres runs as an unprivileged user under root
  const [port, grpcPort, postgresPort, temporalPort, uiPort, workerMetricsPort, workerSdkMetricsPort] =
    await Promise.all([0, 0, 0, 0, 0, 0, 0].map(() => freePort()));
  const apiKey = `launcher-test-key-${process.pid}-${Date.now()}`;
  return {
    dataDir,
    apiKey,
    apiUrl: `http://127.0.0.1:${port}`,
    workerUrl: `http://127.0.0.1:${workerMetricsPort}`,
    temporalAddress: `127.0.0.1:${temporalPort}`,
    env: {
      PORT: String(port),
      GRPC_PORT: String(grpcPort),
      WORKER_METRICS_PORT: String(workerMetricsPort),
      WORKER_SDK_METRICS_PORT: String(workerSdkMetricsPort),
      EMBEDDED_POSTGRES_PORT: String(postgresPort),
      EMBEDDED_TEMPORAL_PORT: String(temporalPort),
      TEMPORAL_UI_PORT: String(uiPort),
      DATA_DIR: dataDir,
      API_KEYS: apiKey,
      WEBHOOK_ALLOWED_TARGETS: '127.0.0.1/32',
      ...extraEnv,
    },
  };
}

/**
 * `node dist/tools/start.js` (what `npm start` runs after building) as a terminal runs it: the leader of a
 * process group of its own, which is what a terminal's Ctrl-C signals (`process.kill(-pid, 'SIGINT')`).
 */
export class LauncherProcess {
  output = '';
  /** The REST API with the launcher's service key. */
  readonly client: TestClient;
  private readonly child: ChildProcess;
  readonly exited: Promise<number | null>;

  private constructor(readonly settings: LauncherSettings) {
    this.client = new TestClient(settings.apiUrl, settings.apiKey);
    const env: Record<string, string | undefined> = { ...process.env, ...settings.env };
    // The suite's own Postgres and Temporal must not leak in: the launcher starts its embedded ones.
    for (const name of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'SECRETS_MASTER_KEYS']) delete env[name];
    this.child = spawn(process.execPath, [join(__dirname, '..', '..', 'dist', 'tools', 'start.js')], {
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    this.child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** Runs it without waiting for anything. */
  static spawn(settings: LauncherSettings): LauncherProcess {
    return new LauncherProcess(settings);
  }

  static async start(settings: LauncherSettings): Promise<LauncherProcess> {
    const launcher = LauncherProcess.spawn(settings);
    await launcher.untilOutput(
      /Ctrl-C stops everything started here/,
      300_000,
      'npm start to print where everything listens',
    );
    return launcher;
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** The pid the launcher last reported for a part ("worker running (pid 12)", "worker is back (pid 13)"). */
  partPid(part: string): number | undefined {
    const pids = [...this.output.matchAll(new RegExp(`\\[start\\] ${part} (?:running|is back) \\(pid (\\d+)\\)`, 'g'))];
    return pids.length ? Number(pids[pids.length - 1][1]) : undefined;
  }

  /**
   * The pids of the launcher's child processes whose command line contains `script` ('dist/apps/worker/'), serving
   * or still starting (the launcher reports a pid only once it serves). Linux: read from /proc.
   */
  childPids(script: string): number[] {
    const pids: number[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so the fields are read after the last ')'.
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === this.pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(script))
          pids.push(Number(entry));
      } catch {
        // Gone meanwhile.
      }
    }
    return pids;
  }

  async untilOutput(pattern: RegExp, timeoutMs: number, what: string): Promise<void> {
    await eventually(
      () => {
        if (pattern.test(this.output)) return true;
        if (this.child.exitCode !== null || this.child.signalCode !== null)
          throw new Error(`npm start exited while waiting for ${what}:\n${this.output.slice(-4000)}`);
        return false;
      },
      { timeout: timeoutMs, description: `${what}; output so far:\n${this.output.slice(-4000)}` },
    );
  }

  /** What a terminal's Ctrl-C does: SIGINT to every process of the foreground process group. */
  async interrupt(): Promise<{ code: number | null; ms: number }> {
    const started = Date.now();
    process.kill(-this.pid, 'SIGINT');
    const code = await this.exited;
    return { code, ms: Date.now() - started };
  }

  /** For afterAll: stops the launcher if it still runs (SIGTERM, then SIGKILL to its group after a minute). */
  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => process.kill(-this.pid, 'SIGKILL'), 60_000);
      await this.exited;
      clearTimeout(timer);
    }
  }
}

export function removeDataDir(settings: LauncherSettings | undefined): void {
  if (settings) rmSync(settings.dataDir, { recursive: true, force: true });
}
