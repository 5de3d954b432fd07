import { createServer } from 'node:net';

/**
 * A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it). Picking a random number instead
 * collides with the local ports of outgoing connections, which share the same range under load.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP port assigned');
  return address.port;
}

/**
 * Throws, naming `what`, when something already listens on 127.0.0.1:`port`: a server started there would fail,
 * and a readiness check would be answered by the other one (a Postgres or dev server left by a launcher killed with
 * SIGKILL, say).
 */
export async function assertPortFree(port: number, what: string): Promise<void> {
  const server = createServer();
  const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    server.once('error', resolve);
    server.listen(port, '127.0.0.1', () => resolve(undefined));
  });
  await new Promise<void>((resolve) => (error ? resolve() : server.close(() => resolve())));
  if (error?.code === 'EADDRINUSE')
    throw new Error(
      `${what}: port ${port} on 127.0.0.1 is already in use (by a server left running? find it with: ss -ltnp 'sport = :${port}')`,
    );
  if (error) throw error;
}
