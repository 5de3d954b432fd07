import type { LookupAddress } from 'node:dns';
import type { LookupFunction, Socket } from 'node:net';
import { buildConnector } from 'undici';
import { OutboundPolicy, parseAddress, Verdict } from './address-policy';
import { dnsResolver, Resolver } from './dns-resolver';

export type { Resolver } from './dns-resolver';

/** A connection the outbound policy did not allow; its message is what the attempt records. */
export class OutboundRefusedError extends Error {
  readonly code = 'ERR_OUTBOUND_REFUSED';
  constructor(readonly verdict: Extract<Verdict, { allowed: false }>) {
    super(verdict.message);
    this.name = 'OutboundRefusedError';
  }
}

export interface GuardedConnectorOptions {
  policy: OutboundPolicy;
  /** Defaults to dnsResolver(): c-ares with the system's DNS servers and the hosts file, off libuv's threadpool. */
  resolver?: Resolver;
  /** Connect (and TLS handshake) budget, as undici's default connector: 10 s. */
  timeoutMs?: number;
}

const stripBrackets = (host: string) => (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host);

/**
 * An undici connector that judges the address it actually connects to, so no check-then-connect gap exists:
 * - an IP-literal host (any encoding) is judged before any socket is opened;
 * - a hostname is resolved once by `resolver` inside the socket's own `lookup`, every address it resolves to
 *   is judged (one refused address refuses the connection: a name that mixes public and private answers is a
 *   rebinding tool), and the socket connects only to those vetted addresses, never re-resolving;
 * - after the connect, the socket's remote address is judged again before undici writes a byte (defence in depth).
 * A refusal fails the connect with an OutboundRefusedError, which undici hands to the request as its error.
 */
export function guardedConnector({
  policy,
  resolver = dnsResolver(),
  timeoutMs,
}: GuardedConnectorOptions): buildConnector.connector {
  const connect = buildConnector({ lookup: guardedLookup(policy, resolver), timeout: timeoutMs });

  return (options, callback) => {
    const host = stripBrackets(options.hostname);
    const literal = parseAddress(host) !== undefined;
    if (literal) {
      // net.connect skips `lookup` for IP literals: they are judged here, before any socket exists.
      const verdict = policy.checkAddress(host);
      if (!verdict.allowed) {
        process.nextTick(() => callback(new OutboundRefusedError(verdict), null));
        return;
      }
    }
    connect(options, (error, socket) => {
      if (error !== null) {
        callback(error, null);
        return;
      }
      const remote = (socket as Socket).remoteAddress;
      const verdict: Verdict =
        remote === undefined || parseAddress(remote) === undefined
          ? {
              allowed: false,
              address: String(remote),
              reason: 'unknown',
              message: `refused by the SSRF guard: the remote address of ${host} is unknown`,
            }
          : policy.checkAddress(remote, literal ? undefined : host);
      if (!verdict.allowed) {
        socket.destroy();
        callback(new OutboundRefusedError(verdict), null);
        return;
      }
      callback(null, socket);
    });
  };
}

/**
 * The `lookup` a socket uses for a hostname: one resolution, every answer judged (one refused answer refuses
 * the name), and only vetted addresses handed to the socket, in the shape net asks for (`all` or one address).
 */
export function guardedLookup(policy: OutboundPolicy, resolver: Resolver): LookupFunction {
  return (hostname, options, callback) => {
    resolver(hostname).then(
      (answers) => {
        if (answers.length === 0) {
          callback(
            Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname }),
            '',
            0,
          );
          return;
        }
        const addresses: LookupAddress[] = [];
        for (const { address } of answers) {
          const parsed = parseAddress(String(address));
          if (parsed === undefined) {
            const message = `refused by the SSRF guard: ${hostname} resolved to "${String(address).slice(0, 100)}", which is not an IP address`;
            callback(
              new OutboundRefusedError({
                allowed: false,
                address: String(address),
                reason: 'not an IP address',
                message,
              }),
              '',
              0,
            );
            return;
          }
          const verdict = policy.checkAddress(String(address), hostname);
          if (!verdict.allowed) {
            callback(new OutboundRefusedError(verdict), '', 0);
            return;
          }
          // The socket gets the canonical form of exactly the address that was judged.
          addresses.push({ address: parsed.toString(), family: parsed.kind() === 'ipv4' ? 4 : 6 });
        }
        const wanted =
          options.family === 4 || options.family === 6
            ? addresses.filter((entry) => entry.family === options.family)
            : addresses;
        if (wanted.length === 0) {
          callback(
            Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname }),
            '',
            0,
          );
        } else if (options.all) {
          callback(null, wanted);
        } else {
          callback(null, wanted[0].address, wanted[0].family);
        }
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}
