import {
  OutputTail,
  PartStartError,
  readOutput,
  spawnDetached,
  stopProcess,
  untilServing,
} from '../../tools/embedded/child-process';
import { existsSync, readFileSync } from 'node:fs';

/** `node -e <script>` in a process group of its own, as the launcher starts its parts. */
function nodeChild(script: string, options: Parameters<typeof spawnDetached>[2] = {}) {
  return spawnDetached(process.execPath, ['-e', script], options);
}

describe("the launcher's wait for a part to serve", () => {
  it('fails, naming the part, the wait and its last output, when the part never says it serves', async () => {
    const child = nodeChild("console.log('listening soon'); setTimeout(() => {}, 60_000)");
    const tail = new OutputTail();
    readOutput(child, (text) => tail.push(text));
    try {
      const waiting = untilServing(child, 'the api', async () => false, 600, tail);
      await expect(waiting).rejects.toThrow(PartStartError);
      await expect(waiting).rejects.toThrow(/^the api did not answer within 0\.6 s; its last output:\nlistening soon$/);
    } finally {
      await stopProcess(child, 'SIGTERM', 5_000);
    }
  });

  it('fails at once, naming how it ended, when the part exits while starting', async () => {
    const child = nodeChild('process.exit(3)');
    await expect(untilServing(child, 'the api', async () => false, 60_000)).rejects.toThrow(
      /^the api exited while starting \(exit code 3\)$/,
    );
  });

  it('shows what the part printed just before it exited, even when the exit is seen first', async () => {
    const child = nodeChild("process.stderr.write('api failed to start: listen EADDRINUSE'); process.exit(1)");
    const tail = new OutputTail();
    readOutput(child, (text) => tail.push(text));
    await new Promise((resolve) => child.once('exit', resolve));
    await expect(untilServing(child, 'the api', async () => false, 60_000, tail)).rejects.toThrow(
      /^the api exited while starting \(exit code 1\); its last output:\napi failed to start: listen EADDRINUSE$/,
    );
  });

  it('resolves once the probe answers', async () => {
    const child = nodeChild('setTimeout(() => {}, 60_000)');
    let probes = 0;
    try {
      await untilServing(child, 'the api', async () => ++probes >= 2, 10_000);
      expect(probes).toBe(2);
    } finally {
      await stopProcess(child, 'SIGTERM', 5_000);
    }
  });
});

// The scheduler autogroup is Linux's, and can be switched off; where it is absent there is nothing to lower.
const withAutogroup = existsSync('/proc/self/autogroup') ? describe : describe.skip;

withAutogroup("a detached part's CPU priority", () => {
  const autogroup = (pid: number | 'self') => readFileSync(`/proc/${pid}/autogroup`, 'utf8').trim();

  it("lowers the child's own session, never the launcher's", async () => {
    const launcherBefore = autogroup('self');
    const child = nodeChild('setTimeout(() => {}, 60_000)', { sessionNice: 7 });
    try {
      expect(autogroup(child.pid as number)).toMatch(/ nice 7$/);
      expect(autogroup(child.pid as number).split(' ')[0]).not.toBe(launcherBefore.split(' ')[0]);
      expect(autogroup('self')).toBe(launcherBefore);
    } finally {
      await stopProcess(child, 'SIGTERM', 5_000);
    }
  });

  it('leaves a child without sessionNice at the default weight', async () => {
    const child = nodeChild('setTimeout(() => {}, 60_000)');
    try {
      expect(autogroup(child.pid as number)).toMatch(/ nice 0$/);
    } finally {
      await stopProcess(child, 'SIGTERM', 5_000);
    }
  });
});
