import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { AppConfig } from '../../libs/config/config';
import { eventually } from './eventually';

/**
 * A worker as a process of its own (dist/apps/worker/src/main.js, which `npm test` builds), on a stack's task queue,
 * Postgres and Temporal: what runs beside the stack's in-process worker, or instead of it, and what a test can kill.
 */
export class WorkerProcess {
  output = '';
  readonly exited: Promise<number | null>;

  private constructor(private readonly child: ChildProcess) {
    child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Started and polling; `env` adds to (or overrides) what the stack's config sets. */
  static async start(config: AppConfig, env: Record<string, string> = {}): Promise<WorkerProcess> {
    const worker = new WorkerProcess(
      spawn(process.execPath, [join(__dirname, '../../dist/apps/worker/src/main.js')], {
        env: {
          ...process.env,
          DATABASE_URL: config.databaseUrl!,
          TEMPORAL_ADDRESS: config.temporalAddress,
          TEMPORAL_TASK_QUEUE: config.temporalTaskQueue,
          SECRETS_MASTER_KEYS: config.secretsMasterKeys!,
          WEBHOOK_ALLOWED_TARGETS: '127.0.0.1/32',
          // Not the default ports, which another suite's worker process may hold: a free one, and no SDK exporter.
          WORKER_METRICS_PORT: '0',
          WORKER_SDK_METRICS_PORT: '0',
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    await eventually(() => /polling task queue/.test(worker.output) || worker.child.exitCode !== null, {
      timeout: 60_000,
      description: 'the worker process to poll',
    });
    if (worker.child.exitCode !== null) throw new Error(`the worker process exited: ${worker.output}`);
    return worker;
  }

  /** Killed at once, as a crash or an OOM kill would: no shutdown, nothing given back. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Stopped as a deployment stops it (SIGTERM), if it still runs. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    await this.exited;
  }
}
