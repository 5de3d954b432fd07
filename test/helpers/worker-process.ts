import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { AppConfig } from '../../libs/config/config';
import { eventually } from './eventually';

/** A worker of its own process (dist/apps/worker/src/main.js) beside a stack's, and everything it printed. */
export interface WorkerProcess {
  readonly process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts a second worker on the stack's task queue, Postgres and Temporal, with `env` on top, and waits until it
 * polls. Its endpoint takes a free port and the SDK's exporter stays off (another suite's worker may hold theirs).
 */
export async function startWorkerProcess(config: AppConfig, env: Record<string, string>): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [join(__dirname, '../../dist/apps/worker/src/main.js')], {
    env: {
      ...process.env,
      DATABASE_URL: config.databaseUrl,
      TEMPORAL_ADDRESS: config.temporalAddress,
      TEMPORAL_TASK_QUEUE: config.temporalTaskQueue,
      SECRETS_MASTER_KEYS: config.secretsMasterKeys,
      WORKER_METRICS_PORT: '0',
      WORKER_SDK_METRICS_PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await eventually(() => /polling task queue/.test(output) || child.exitCode !== null, {
    timeout: 60_000,
    description: 'the second worker',
  });
  if (child.exitCode !== null) throw new Error(`the second worker exited: ${output}`);
  return {
    process: child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
