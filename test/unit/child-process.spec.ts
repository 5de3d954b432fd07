import {
  OutputTail,
  PartStartError,
  readOutput,
  spawnDetached,
  stopProcess,
  untilServing,
} from '../../tools/embedded/child-process';

/** `node -e <script>` in a process group of its own, as the launcher starts its parts. */
function nodeChild(script: string) {
  return spawnDetached(process.execPath, ['-e', script]);
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
