import { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { RunningProcess, spawnDetached, stopProcess } from '../../tools/embedded/child-process';
import { PartState, Supervisor } from '../../tools/embedded/supervisor';

/** A real child process: `node -e <script>`, in a process group of its own. */
function nodePart(script: string) {
  return async () => {
    const child = spawnDetached(process.execPath, ['-e', script], { stdio: 'ignore' });
    return { child, stop: () => stopProcess(child, 'SIGTERM', 5_000) };
  };
}

/** A process the test ends by hand (`exit`), for the backoff's arithmetic under fake timers. */
class FakeChild extends EventEmitter {
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;

  constructor(readonly pid: number) {
    super();
  }

  exit(code: number | null, signal: NodeJS.Signals | null = null): void {
    if (this.exitCode !== null || this.signalCode !== null) return;
    this.exitCode = code;
    this.signalCode = signal;
    this.emit('exit', code, signal);
  }
}

/** Starts fake processes, failing the starts whose number (1-based) is in `failing`. */
class FakeParts {
  readonly children: FakeChild[] = [];
  starts = 0;

  constructor(private readonly failing: (start: number) => boolean = () => false) {}

  readonly start = async (): Promise<RunningProcess> => {
    this.starts += 1;
    if (this.failing(this.starts)) throw new Error(`start ${this.starts} failed`);
    const child = new FakeChild(1000 + this.starts);
    this.children.push(child);
    return { child: child as unknown as ChildProcess, stop: async () => child.exit(null, 'SIGTERM') };
  };

  get last(): FakeChild {
    return this.children[this.children.length - 1];
  }
}

/** The delays the supervisor announced ("restarting it in 250 ms"), in order. */
function delays(said: string[]): number[] {
  return said.flatMap((line) => {
    const match = /restarting it in (\d+) ms/.exec(line);
    return match ? [Number(match[1])] : [];
  });
}

describe('Supervisor', () => {
  it('restarts a part that exits by itself, logging its exit status, and stops it for good on stop()', async () => {
    const said: string[] = [];
    const supervisor = new Supervisor({ say: (m) => said.push(m), policy: { firstDelayMs: 10 } });
    await supervisor.start('sleeper', nodePart('setTimeout(() => {}, 60_000)'));
    const first = supervisor.running('sleeper')!.child!;
    expect(said).toEqual([`sleeper running (pid ${first.pid})`]);
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    await supervisor.whenRunning('sleeper');
    const second = supervisor.running('sleeper')!.child!;
    expect(second.pid).not.toBe(first.pid);
    expect(said).toContain('sleeper exited by itself (signal SIGKILL); restarting it in 10 ms (1 in a row)');
    expect(said).toContain(`sleeper is back (pid ${second.pid})`);

    await supervisor.stop('sleeper');
    expect(second.signalCode).toBe('SIGTERM');
    await sleep(100);
    expect(supervisor.running('sleeper')!.child).toBe(second);
    expect(supervisor.state('sleeper')).toEqual({ state: 'stopped' });
  });

  describe('backoff (fake timers)', () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    it('makes the wait 1.5 times longer with each exit in a row up to 30 s, and never gives up', async () => {
      const said: string[] = [];
      const parts = new FakeParts();
      const supervisor = new Supervisor({ say: (m) => said.push(m) });
      await supervisor.supervise('worker', parts.start);
      for (let exit = 1; exit <= 15; exit++) {
        parts.last.exit(null, 'SIGKILL');
        await jest.advanceTimersByTimeAsync(30_000);
      }
      expect(delays(said)).toEqual([
        250, 375, 563, 844, 1_266, 1_898, 2_848, 4_271, 6_407, 9_611, 14_416, 21_624, 30_000, 30_000, 30_000,
      ]);
      expect(said).toContain('worker exited by itself (signal SIGKILL); restarting it in 30000 ms (15 in a row)');
      expect(parts.starts).toBe(16);
      expect(supervisor.state('worker')).toEqual({ state: 'running', pid: 1016 });
      await supervisor.stop('worker');
    });

    it('starts the wait over after the part ran steadily for a minute', async () => {
      const said: string[] = [];
      const parts = new FakeParts();
      const supervisor = new Supervisor({ say: (m) => said.push(m) });
      await supervisor.supervise('worker', parts.start);
      for (let exit = 1; exit <= 3; exit++) {
        parts.last.exit(1);
        await jest.advanceTimersByTimeAsync(30_000);
      }
      // 59 s of running is still the same crash loop; 60 s is not.
      await jest.advanceTimersByTimeAsync(30_000);
      parts.last.exit(1);
      await jest.advanceTimersByTimeAsync(30_000);
      await jest.advanceTimersByTimeAsync(60_000);
      parts.last.exit(1);
      await jest.advanceTimersByTimeAsync(30_000);
      expect(delays(said)).toEqual([250, 375, 563, 844, 250]);
      await supervisor.stop('worker');
    });

    it('retries a part whose first start fails, like one that exits, and reports where it is', async () => {
      const said: string[] = [];
      const states: PartState[] = [];
      const parts = new FakeParts((start) => start <= 2);
      const supervisor = new Supervisor({
        say: (m) => said.push(m),
        onState: (name, state) => states.push(state),
      });
      await supervisor.supervise('worker', parts.start);
      expect(said).toEqual(['worker failed to start; restarting it in 250 ms (1 in a row): start 1 failed']);
      const running = supervisor.whenRunning('worker');
      await jest.advanceTimersByTimeAsync(250 + 375);
      await running;
      expect(said.slice(1)).toEqual([
        'worker failed to start; restarting it in 375 ms (2 in a row): start 2 failed',
        'worker is back (pid 1003)',
      ]);
      expect(states).toEqual([
        { state: 'starting', exitsInARow: 0, lastExit: undefined },
        { state: 'waiting', exitsInARow: 1, lastExit: 'failed to start', restartAt: expect.any(Number) },
        { state: 'starting', exitsInARow: 1, lastExit: 'failed to start' },
        { state: 'waiting', exitsInARow: 2, lastExit: 'failed to start', restartAt: expect.any(Number) },
        { state: 'starting', exitsInARow: 2, lastExit: 'failed to start' },
        { state: 'running', pid: 1003 },
      ]);
      await supervisor.stop('worker');
    });

    it('fails start() of a part that must come up, without retrying it', async () => {
      const parts = new FakeParts(() => true);
      const supervisor = new Supervisor({ say: () => undefined });
      await expect(supervisor.start('postgres', parts.start)).rejects.toThrow('start 1 failed');
      await jest.advanceTimersByTimeAsync(60_000);
      expect(parts.starts).toBe(1);
      expect(supervisor.state('postgres')).toEqual({ state: 'stopped' });
      await expect(supervisor.whenRunning('postgres')).rejects.toThrow('postgres is stopped');
    });

    it('ends a stop during the backoff at once: no restart, and whoever waits for the part is told', async () => {
      const parts = new FakeParts();
      const supervisor = new Supervisor({ say: () => undefined });
      await supervisor.supervise('worker', parts.start);
      for (let exit = 1; exit <= 8; exit++) {
        parts.last.exit(null, 'SIGKILL');
        await jest.advanceTimersByTimeAsync(30_000);
      }
      parts.last.exit(null, 'SIGKILL');
      const waiting = supervisor.whenRunning('worker');
      // Fake timers stand still: the stop cannot be waiting for the 30 s backoff.
      await supervisor.stop('worker');
      await expect(waiting).rejects.toThrow('worker was stopped before it ran');
      await jest.advanceTimersByTimeAsync(120_000);
      expect(parts.starts).toBe(9);
      expect(supervisor.state('worker')).toEqual({ state: 'stopped' });
    });
  });

  it('waits in stop() for a start under way, then stops what it started', async () => {
    let release!: () => void;
    const child = new FakeChild(7);
    const supervisor = new Supervisor({ say: () => undefined });
    const supervising = supervisor.supervise('api', async () => {
      await new Promise<void>((resolve) => (release = resolve));
      return { child: child as unknown as ChildProcess, stop: async () => child.exit(null, 'SIGTERM') };
    });
    const stopping = supervisor.stop('api');
    release();
    await Promise.all([supervising, stopping]);
    expect(child.signalCode).toBe('SIGTERM');
    expect(supervisor.state('api')).toEqual({ state: 'stopped' });
  });
});
