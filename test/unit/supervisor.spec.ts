import { setTimeout as sleep } from 'node:timers/promises';
import { spawnDetached, stopProcess } from '../../tools/embedded/child-process';
import { Supervisor } from '../../tools/embedded/supervisor';

/** A real child process: `node -e <script>`, in a process group of its own. */
function nodePart(script: string) {
  return async () => {
    const child = spawnDetached(process.execPath, ['-e', script], { stdio: 'ignore' });
    return { child, stop: () => stopProcess(child, 'SIGTERM', 5_000) };
  };
}

const fast = { firstDelayMs: 10, maxDelayMs: 40 };

describe('Supervisor', () => {
  it('restarts a part that exits by itself, logging its exit status, and stops it for good on stop()', async () => {
    const said: string[] = [];
    const supervisor = new Supervisor({ say: (m) => said.push(m), policy: fast, onGiveUp: () => undefined });
    await supervisor.start('sleeper', nodePart('setTimeout(() => {}, 60_000)'));
    const first = supervisor.running('sleeper')!.child!;
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    await supervisor.whenRunning('sleeper');
    const second = supervisor.running('sleeper')!.child!;
    expect(second.pid).not.toBe(first.pid);
    expect(said).toContainEqual(
      expect.stringMatching(
        /^sleeper exited by itself \(signal SIGKILL\); restarting it in 10 ms \(restart 1 of 5 allowed within 60 s\)$/,
      ),
    );
    expect(said).toContainEqual(`sleeper is back (pid ${second.pid})`);

    await supervisor.stop('sleeper');
    expect(second.signalCode).toBe('SIGTERM');
    await sleep(100);
    expect(supervisor.running('sleeper')!.child).toBe(second);
  });

  it('gives up on a part that keeps exiting: the sixth exit within the window', async () => {
    const said: string[] = [];
    let starts = 0;
    const gaveUp = new Promise<[string, string]>((resolve) => {
      const supervisor = new Supervisor({
        say: (m) => said.push(m),
        policy: fast,
        onGiveUp: (name, status) => resolve([name, status]),
      });
      const crasher = nodePart('process.exit(3)');
      void supervisor.start('crasher', () => {
        starts += 1;
        return crasher();
      });
    });
    expect(await gaveUp).toEqual(['crasher', 'exit code 3']);
    expect(starts).toBe(6);
    expect(said.at(-1)).toBe('crasher exited by itself (exit code 3), 6 times within 60 s: giving up');
  });

  it('counts a failed restart as another exit', async () => {
    let starts = 0;
    const gaveUp = new Promise<string>((resolve) => {
      const supervisor = new Supervisor({
        say: () => undefined,
        policy: { ...fast, maxRestarts: 2 },
        onGiveUp: (_name, status) => resolve(status),
      });
      const crasher = nodePart('process.exit(1)');
      void supervisor.start('flaky', async () => {
        starts += 1;
        if (starts > 1) throw new Error('port taken');
        return crasher();
      });
    });
    expect(await gaveUp).toBe('restart failed: port taken');
    expect(starts).toBe(3);
  });
});
