import { describeExit, RunningProcess } from './child-process';

export interface RestartPolicy {
  /** Restarts allowed within `windowMs`; one more unexpected exit in that window gives up. */
  maxRestarts: number;
  windowMs: number;
  /** Wait before the first restart; doubled for each further exit within the window, up to `maxDelayMs`. */
  firstDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  maxRestarts: 5,
  windowMs: 60_000,
  firstDelayMs: 250,
  maxDelayMs: 8_000,
};

export interface SupervisorOptions {
  say: (message: string) => void;
  policy?: Partial<RestartPolicy>;
  /** A part exited more often than the policy allows: the caller stops everything. */
  onGiveUp: (name: string, status: string) => void;
}

interface Part {
  start: () => Promise<RunningProcess>;
  current?: RunningProcess;
  /** Set while the part is stopped on purpose: its exit is not a crash. */
  stopped: boolean;
  exits: number[];
  timer?: NodeJS.Timeout;
  restarting?: Promise<void>;
  /** Resolved whenever the part is running again after an exit. */
  waiters: Array<() => void>;
}

/**
 * Keeps named parts (processes) running: a part that exits by itself is restarted with backoff and the exit is
 * logged with its status; the other parts keep running. A part that exits more than `maxRestarts` times within
 * `windowMs` is given up on (onGiveUp). Parts stopped through stop() are not restarted.
 */
export class Supervisor {
  private readonly parts = new Map<string, Part>();
  private readonly policy: RestartPolicy;
  private gaveUp = false;

  constructor(private readonly options: SupervisorOptions) {
    this.policy = { ...DEFAULT_RESTART_POLICY, ...options.policy };
  }

  /** Starts a part (rejects if its first start fails) and supervises it from then on. */
  async start(name: string, start: () => Promise<RunningProcess>): Promise<void> {
    const part: Part = this.parts.get(name) ?? { start, stopped: false, exits: [], waiters: [] };
    part.start = start;
    part.stopped = false;
    this.parts.set(name, part);
    this.watch(name, part, await start());
  }

  /** Starts again a part stopped through stop(), with the start function it was supervised with. */
  async restart(name: string): Promise<void> {
    const part = this.part(name);
    await this.start(name, part.start);
  }

  running(name: string): RunningProcess | undefined {
    return this.parts.get(name)?.current;
  }

  /** Resolves once the part is running (at once if it is, else when a restart brought it back). */
  whenRunning(name: string): Promise<void> {
    const part = this.part(name);
    const child = part.current?.child;
    if (child && child.exitCode === null && child.signalCode === null && !part.restarting) return Promise.resolve();
    return new Promise((resolve) => part.waiters.push(resolve));
  }

  /** Stops a part on purpose (no restart), including one waiting for or in the middle of a restart. */
  async stop(name: string): Promise<void> {
    const part = this.parts.get(name);
    if (!part) return;
    part.stopped = true;
    clearTimeout(part.timer);
    await part.restarting;
    await part.current?.stop();
  }

  private part(name: string): Part {
    const part = this.parts.get(name);
    if (!part) throw new Error(`no part named ${name}`);
    return part;
  }

  private watch(name: string, part: Part, running: RunningProcess): void {
    part.current = running;
    // A part stopped while it was restarting: stop() stops this process once the restart has finished.
    if (part.stopped) return;
    const child = running.child;
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      // Gone already (between its readiness check and now): as much an exit as one seen later.
      this.exited(name, part, describeExit(child.exitCode, child.signalCode));
      return;
    }
    child?.once('exit', (code, signal) => {
      if (!part.stopped && part.current === running) this.exited(name, part, describeExit(code, signal));
    });
    for (const resolve of part.waiters.splice(0)) resolve();
  }

  private exited(name: string, part: Part, status: string): void {
    const now = Date.now();
    part.exits = [...part.exits.filter((at) => now - at < this.policy.windowMs), now];
    const restarts = part.exits.length;
    const window = `${Math.round(this.policy.windowMs / 1000)} s`;
    if (restarts > this.policy.maxRestarts) {
      this.options.say(`${name} exited by itself (${status}), ${restarts} times within ${window}: giving up`);
      if (!this.gaveUp) {
        this.gaveUp = true;
        this.options.onGiveUp(name, status);
      }
      return;
    }
    const delayMs = Math.min(this.policy.firstDelayMs * 2 ** (restarts - 1), this.policy.maxDelayMs);
    this.options.say(
      `${name} exited by itself (${status}); restarting it in ${delayMs} ms (restart ${restarts} of ${this.policy.maxRestarts} allowed within ${window})`,
    );
    let done!: () => void;
    part.restarting = new Promise((resolve) => (done = resolve));
    part.timer = setTimeout(() => {
      if (part.stopped) return done();
      part
        .start()
        .then(
          (running) => {
            part.restarting = undefined;
            this.watch(name, part, running);
            this.options.say(`${name} is back${running.child?.pid ? ` (pid ${running.child.pid})` : ''}`);
          },
          (error: Error) => {
            part.restarting = undefined;
            if (!part.stopped) this.exited(name, part, `restart failed: ${error.message}`);
          },
        )
        .finally(done);
    }, delayMs);
  }
}
