import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Pool } from 'undici';

/**
 * The egress proxy of WEBHOOK_EGRESS_PROXY (`http://[user:password@]host:port`): one pool of connections to it,
 * shared by every connector of a sender, each connection turned into one CONNECT tunnel.
 */
export class EgressProxy {
  private readonly pool: Pool;
  private readonly authorization: string | undefined;

  constructor(url: string, timeoutMs?: number) {
    const parsed = new URL(url);
    this.authorization =
      parsed.username === ''
        ? undefined
        : `Basic ${Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString('base64')}`;
    this.pool = new Pool(parsed.origin, { connect: { timeout: timeoutMs } });
  }

  /** A tunnel to `target` (address:port), or an EgressProxyError saying what the proxy did. */
  async tunnel(target: string): Promise<Socket> {
    let answer: { statusCode: number; socket: Duplex };
    try {
      answer = await this.pool.connect({
        path: target,
        headers: {
          host: target,
          ...(this.authorization === undefined ? {} : { 'proxy-authorization': this.authorization }),
        },
      });
    } catch (error) {
      throw new EgressProxyError(`the egress proxy could not be reached: ${(error as Error).message}`);
    }
    if (answer.statusCode !== 200) {
      answer.socket.destroy();
      throw new EgressProxyError(`the egress proxy answered ${answer.statusCode} to CONNECT ${target}`);
    }
    return answer.socket as Socket;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** The proxy refused to open a tunnel (or could not be reached): the attempt records it, the proxy's word only. */
export class EgressProxyError extends Error {
  readonly code = 'ERR_EGRESS_PROXY';
}
