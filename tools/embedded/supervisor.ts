import { describeExit, hasExited, RunningProcess } from './child-process';

export interface RestartPolicy {
  /**
   * Wait before restarting a part that exited; times `growth` for each further exit in a row, up to `maxDelayMs`.
   * A growth of 1.5 rather than 2 reaches the cap after about two minutes of crash-looping instead of half of one, so
   * a part killed for a while is back seconds after the kills stop, not after a wait that grew to the cap.
   */
  firstDelayMs: number;
  growth: number;
  maxDelayMs: number;
  /** A part that ran this long before it exited is restarted after `firstDelayMs` again: it was not crash-looping. */
  steadyAfterMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  firstDelayMs: 250,
  growth: 1.5,
  maxDelayMs: 30_000,
  steadyAfterMs: 60_000,
};

/** Where a supervised part is; the launcher reports the worker's to the api, whose /readyz shows it. */
export type PartState =
  | { state: 'starting'; exitsInARow: number; lastExit?: string }
  | { state: 'running'; pid: number | undefined }
  | { state: 'waiting'; exitsInARow: number; lastExit: string; restartAt: number }
  | { state: 'stopped' };

export interface SupervisorOptions {
  say: (message: string) => void;
  policy?: Partial<RestartPolicy>;
  onState?: (name: string, state: PartState) => void;
}

interface Part {
  start: () => Promise<RunningProcess>;
  current?: RunningProcess;
  state: PartState;
  /** Set while the part is stopped on purpose: its exit is not a crash. */
  stopped: boolean;
  /** Exits and failed starts since the part last ran steadily: the exponent of the backoff. */
  exitsInARow: number;
  lastExit?: string;
  runningSince: number;
  timer?: NodeJS.Timeout;
  /** The start under way: stop() waits for it, then stops what it started. */
  starting?: Promise<unknown>;
  /** Told true when the part runs, false when it is stopped first. */
  waiters: Array<(running: boolean) => void>;
}

/**
 * Keeps named parts (processes) running for as long as it runs: a part that exits by itself, or fails to start, is
 * restarted after a backoff that doubles with each exit in a row up to `maxDelayMs`, each exit and restart logged;
 * the other parts keep running. Parts stopped through stop() are not restarted.
 */
export class Supervisor {
  private readonly parts = new Map<string, Part>();
  private readonly policy: RestartPolicy;

  constructor(private readonly options: SupervisorOptions) {
    this.policy = { ...DEFAULT_RESTART_POLICY, ...options.policy };
  }

  /** Starts a part that must come up (rejects, leaving it stopped, if this start fails), and supervises it. */
  async start(name: string, start: () => Promise<RunningProcess>): Promise<void> {
    const part = this.register(name, start);
    const failure = await this.attempt(name, part);
    if (failure) {
      part.stopped = true;
      this.report(name, part, { state: 'stopped' });
      throw failure;
    }
  }

  /**
   * Starts a part and supervises it from its first start on: resolves once that start succeeded or failed, a failed
   * one being restarted with backoff like any exit.
   */
  async supervise(name: string, start: () => Promise<RunningProcess>): Promise<void> {
    await this.attemptOrBackOff(name, this.register(name, start));
  }

  /** Starts again a part stopped through stop(), with the start function it was supervised with. */
  async restart(name: string): Promise<void> {
    await this.start(name, this.part(name).start);
  }

  running(name: string): RunningProcess | undefined {
    return this.parts.get(name)?.current;
  }

  state(name: string): PartState | undefined {
    return this.parts.get(name)?.state;
  }

  /** Resolves once the part runs (at once if it does, else when a start brought it back); rejects if stopped first. */
  whenRunning(name: string): Promise<void> {
    const part = this.part(name);
    if (part.stopped) return Promise.reject(new Error(`${name} is stopped`));
    if (part.state.state === 'running') return Promise.resolve();
    return new Promise((resolve, reject) =>
      part.waiters.push((running) => (running ? resolve() : reject(new Error(`${name} was stopped before it ran`)))),
    );
  }

  /** Stops a part on purpose (no restart), including one waiting for or in the middle of a restart. */
  async stop(name: string): Promise<void> {
    const part = this.parts.get(name);
    if (!part) return;
    part.stopped = true;
    clearTimeout(part.timer);
    await part.starting;
    await part.current?.stop();
    this.report(name, part, { state: 'stopped' });
  }

  private part(name: string): Part {
    const part = this.parts.get(name);
    if (!part) throw new Error(`no part named ${name}`);
    return part;
  }

  private register(name: string, start: () => Promise<RunningProcess>): Part {
    const part: Part = this.parts.get(name) ?? {
      start,
      state: { state: 'stopped' },
      stopped: false,
      exitsInARow: 0,
      runningSince: 0,
      waiters: [],
    };
    part.start = start;
    part.stopped = false;
    this.parts.set(name, part);
    return part;
  }

  private report(name: string, part: Part, state: PartState): void {
    part.state = state;
    if (state.state === 'running' || state.state === 'stopped')
      for (const tell of part.waiters.splice(0)) tell(state.state === 'running');
    this.options.onState?.(name, state);
  }

  /** One start; resolves with its error if it failed (a part stopped meanwhile is left for stop() to stop). */
  private async attempt(name: string, part: Part): Promise<Error | undefined> {
    this.report(name, part, { state: 'starting', exitsInARow: part.exitsInARow, lastExit: part.lastExit });
    const started = part.start().then(
      (running) => this.watch(name, part, running),
      (error: Error) => error,
    );
    part.starting = started;
    try {
      return await started;
    } finally {
      if (part.starting === started) part.starting = undefined;
    }
  }

  private async attemptOrBackOff(name: string, part: Part): Promise<void> {
    const failure = await this.attempt(name, part);
    if (failure && !part.stopped) this.backOff(name, part, 'failed to start', `${name} failed to start`, failure);
  }

  private watch(name: string, part: Part, running: RunningProcess): undefined {
    part.current = running;
    // Stopped while it was starting: stop() stops this process once the start has finished.
    if (part.stopped) return;
    const child = running.child;
    if (child && hasExited(child)) {
      // Gone already (between its readiness check and now): as much an exit as one seen later.
      this.exited(name, part, describeExit(child.exitCode, child.signalCode));
      return;
    }
    child?.once('exit', (code, signal) => {
      if (!part.stopped && part.current === running) this.exited(name, part, describeExit(code, signal));
    });
    part.runningSince = Date.now();
    const pid = child?.pid;
    this.options.say(`${name} ${part.lastExit === undefined ? 'running' : 'is back'}${pid ? ` (pid ${pid})` : ''}`);
    this.report(name, part, { state: 'running', pid });
  }

  private exited(name: string, part: Part, status: string): void {
    if (Date.now() - part.runningSince >= this.policy.steadyAfterMs) part.exitsInARow = 0;
    this.backOff(name, part, status, `${name} exited by itself (${status})`);
  }

  /** Restarts the part after the backoff its exits in a row call for, unless it is stopped first. */
  private backOff(name: string, part: Part, lastExit: string, what: string, failure?: Error): void {
    part.exitsInARow += 1;
    part.lastExit = lastExit;
    const delayMs = Math.round(
      Math.min(this.policy.firstDelayMs * this.policy.growth ** (part.exitsInARow - 1), this.policy.maxDelayMs),
    );
    this.options.say(
      `${what}; restarting it in ${delayMs} ms (${part.exitsInARow} in a row)${failure ? `: ${failure.message}` : ''}`,
    );
    this.report(name, part, {
      state: 'waiting',
      exitsInARow: part.exitsInARow,
      lastExit,
      restartAt: Date.now() + delayMs,
    });
    part.timer = setTimeout(() => void this.attemptOrBackOff(name, part), delayMs);
  }
}
