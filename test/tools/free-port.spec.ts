import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { freePort } from '../../tools/embedded/free-port';

// Linux's range for the local ports of outgoing connections; elsewhere (or when it starts too low to leave room
// below it) freePort lets the OS pick.
const outgoingRange = (() => {
  try {
    return readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  } catch {
    return undefined;
  }
})();

describe('freePort', () => {
  it('hands out ports a server can listen on, never the same one twice', async () => {
    const ports: number[] = [];
    for (let i = 0; i < 40; i++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(ports.length);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(ports[0], '127.0.0.1', resolve);
    });
    await new Promise((resolve) => server.close(resolve));
  });

  (outgoingRange && outgoingRange[0] > 11_000 ? it : it.skip)(
    'picks below the range outgoing connections take their local ports from',
    async () => {
      const [rangeStart] = outgoingRange!;
      for (let i = 0; i < 20; i++) {
        const port = await freePort();
        expect(port).toBeGreaterThanOrEqual(10_000);
        expect(port).toBeLessThan(rangeStart);
      }
    },
  );
});
