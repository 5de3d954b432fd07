import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Lowest port freePort hands out: below it sit the well-known ones (Postgres's 5432, Temporal's 7233...). */
const LOWEST_PORT = 10_000;
const handedOut = new Set<number>();

/**
 * A TCP port on 127.0.0.1 that nothing listens on right now, for a part the caller starts soon after. It is picked
 * below the OS's range for the local ports of outgoing connections (Linux's ip_local_port_range): a port from that
 * range, what listen(0) hands out, can be taken by one of the connections Postgres, Temporal and their clients open
 * between the pick and the part's own listen, and the part then fails to start. This process never hands out the
 * same port twice. Where the range cannot be read, the OS picks (listen(0)).
 */
export async function freePort(): Promise<number> {
  const rangeStart = outgoingPortRangeStart();
  for (let attempt = 0; attempt < 100; attempt++) {
    const candidate =
      rangeStart === undefined ? 0 : LOWEST_PORT + Math.floor(Math.random() * (rangeStart - LOWEST_PORT));
    if (handedOut.has(candidate)) continue;
    const listened = await listenBriefly(candidate);
    if ('error' in listened) {
      if (listened.error.code === 'EADDRINUSE' || listened.error.code === 'EACCES') continue;
      throw listened.error;
    }
    if (handedOut.has(listened.port)) continue;
    handedOut.add(listened.port);
    return listened.port;
  }
  throw new Error('no free TCP port on 127.0.0.1 after 100 tries');
}

function outgoingPortRangeStart(): number | undefined {
  try {
    const start = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(start) && start > LOWEST_PORT + 1_000 ? start : undefined;
  } catch {
    return undefined;
  }
}

/** Listens on `port` (0: any) and closes again: the port it got, or why it could not listen there. */
async function listenBriefly(port: number): Promise<{ port: number } | { error: NodeJS.ErrnoException }> {
  const server = createServer();
  const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    server.once('error', resolve);
    server.listen(port, '127.0.0.1', () => resolve(undefined));
  });
  if (error) return { error };
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP port assigned');
  return { port: address.port };
}

/**
 * Throws, naming `what`, when something already listens on 127.0.0.1:`port`: a server started there would fail,
 * and a readiness check would be answered by the other one (a Postgres or dev server left by a launcher killed with
 * SIGKILL, say).
 */
export async function assertPortFree(port: number, what: string): Promise<void> {
  const listened = await listenBriefly(port);
  if (!('error' in listened)) return;
  if (listened.error.code === 'EADDRINUSE')
    throw new Error(
      `${what}: port ${port} on 127.0.0.1 is already in use (by a server left running? find it with: ss -ltnp 'sport = :${port}')`,
    );
  throw listened.error;
}
