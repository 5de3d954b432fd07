import { ChildProcess } from 'node:child_process';
import { createWriteStream, WriteStream } from 'node:fs';
import {
  describeExit,
  exitOf,
  killGroup,
  OutputTail,
  readOutput,
  spawnDetached,
  stopProcess,
  untilServing,
} from '../embedded/child-process';

export interface ProcessSpec {
  /** How the summary and the logs name it: `api-1`, `temporal-2`. */
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Answers true once the process serves (ready for traffic). */
  ready: () => Promise<boolean>;
  /** How long a start may take before it counts as failed. */
  startTimeoutMs: number;
  /** The signal an operator's supervisor stops it with, and how long it may take before SIGKILL. */
  stopSignal: NodeJS.Signals;
  stopTimeoutMs: number;
}

/**
 * One process of the rehearsed topology, started and restarted the way an operator's supervisor does it (the
 * rehearsal never leans on the embedded launcher): its output goes to `<logDir>/<name>.log`, an exit nobody asked
 * for is recorded as a crash.
 */
export class ManagedProcess {
  private child?: ChildProcess;
  private log?: WriteStream;
  private readonly tail = new OutputTail(40);
  private expectingExit = false;
  readonly crashes: string[] = [];
  starts = 0;

  constructor(
    readonly spec: ProcessSpec,
    private readonly logFile: string,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    const { spec } = this;
    const log = (this.log ??= createWriteStream(this.logFile, { flags: 'a' }));
    this.expectingExit = false;
    const child = spawnDetached(spec.command, spec.args, { env: spec.env, cwd: spec.cwd });
    this.child = child;
    this.starts += 1;
    log.write(`--- start ${this.starts} ${new Date().toISOString()}\n`);
    readOutput(child, (text) => {
      log.write(text);
      this.tail.push(text);
    });
    child.once('exit', (code, signal) => {
      log.write(`--- exit (${describeExit(code, signal)}) ${new Date().toISOString()}\n`);
      if (!this.expectingExit) this.crashes.push(`${spec.name} exited by itself (${describeExit(code, signal)})`);
    });
    await untilServing(child, spec.name, spec.ready, spec.startTimeoutMs, this.tail);
  }

  /** The graceful stop (SIGTERM for the apps), SIGKILL after the spec's timeout; resolves with how long it took. */
  async stop(): Promise<number> {
    const started = Date.now();
    if (!this.child) return 0;
    this.expectingExit = true;
    await stopProcess(this.child, this.spec.stopSignal, this.spec.stopTimeoutMs);
    return Date.now() - started;
  }

  /** SIGKILL: no shutdown hook runs. */
  async kill(): Promise<void> {
    if (!this.child) return;
    this.expectingExit = true;
    const exited = exitOf(this.child);
    killGroup(this.child);
    await exited;
  }

  async restart(): Promise<{ stopMs: number; startMs: number }> {
    const stopMs = await this.stop();
    const started = Date.now();
    await this.start();
    return { stopMs, startMs: Date.now() - started };
  }

  lastOutput(): string {
    return this.tail.toString();
  }

  close(): void {
    this.log?.end();
  }
}
