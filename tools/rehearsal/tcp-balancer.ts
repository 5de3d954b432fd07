import { AddressInfo, createConnection, createServer, Server, Socket } from 'node:net';

/**
 * What stands in front of the Temporal frontends in a deployment (a Kubernetes Service, a load balancer): one
 * address for the api and the workers; each new connection goes to the next backend, skipping one that refuses, so a
 * restarted server's clients reconnect to the one still serving.
 */
export class TcpBalancer {
  private server?: Server;
  private next = 0;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly backends: number[]) {}

  async listen(): Promise<string> {
    this.server = createServer((client) => this.forward(client, 0));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private forward(client: Socket, tried: number): void {
    client.pause();
    const port = this.backends[this.next++ % this.backends.length];
    const upstream = createConnection({ host: '127.0.0.1', port });
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      for (const socket of [client, upstream]) this.track(socket);
      client.pipe(upstream).pipe(client);
      client.resume();
    });
    upstream.once('error', () => {
      upstream.destroy();
      if (!connected && tried + 1 < this.backends.length) this.forward(client, tried + 1);
      else client.destroy();
    });
    upstream.once('close', () => connected && client.destroy());
    client.once('error', () => upstream.destroy());
    client.once('close', () => upstream.destroy());
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
