import type { LookupAddress } from 'node:dns';
import type { LookupFunction, Socket } from 'node:net';
import { buildConnector } from 'undici';
import type { TlsClientCredentials } from '../contracts/receiver-credentials';
import { OutboundPolicy, parseAddress, Verdict } from './address-policy';
import { dnsResolver, Resolver } from './dns-resolver';
import { EgressProxy } from './egress-proxy';

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
  /** A client certificate and key to present to https:// receivers, and the CA bundle to verify them by. */
  tls?: TlsClientCredentials | null;
  /** WEBHOOK_EGRESS_PROXY: every connection is a CONNECT tunnel through it, to an address the policy allowed. */
  proxy?: EgressProxy | null;
}

const stripBrackets = (host: string) => (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host);

/** What node's TLS takes of a client certificate (undici's connector passes these on to tls.connect). */
function tlsOptions(tls: TlsClientCredentials | null | undefined) {
  if (!tls) return {};
  return {
    ...(tls.certificate === null || tls.privateKey === null ? {} : { cert: tls.certificate, key: tls.privateKey }),
    ...(tls.ca === null ? {} : { ca: tls.ca }),
  };
}

/**
 * An undici connector that judges the address it actually connects to, so no check-then-connect gap exists:
 * - an IP-literal host (any encoding) is judged before any socket is opened;
 * - a hostname is resolved once by `resolver` inside the socket's own `lookup`, every address it resolves to
 *   is judged (one refused address refuses the connection: a name that mixes public and private answers is a
 *   rebinding tool), and the socket connects only to those vetted addresses, never re-resolving;
 * - after the connect, the socket's remote address is judged again before undici writes a byte (defence in depth).
 * Through an egress proxy, the same judgement happens before the proxy is asked, and the tunnel is opened to the
 * vetted address itself (the proxy never resolves the name, so it cannot be steered elsewhere).
 * A refusal fails the connect with an OutboundRefusedError, which undici hands to the request as its error.
 */
export function guardedConnector({
  policy,
  resolver = dnsResolver(),
  timeoutMs,
  tls,
  proxy,
}: GuardedConnectorOptions): buildConnector.connector {
  if (proxy) return tunnelledConnector(policy, resolver, proxy, { timeout: timeoutMs, ...tlsOptions(tls) });
  const connect = buildConnector({ lookup: guardedLookup(policy, resolver), timeout: timeoutMs, ...tlsOptions(tls) });

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
      callback(null, keepingTlsAlerts(socket));
    });
  };
}

/**
 * A TLS 1.3 server refuses a client certificate (or its absence) only after the handshake, with an alert the client
 * reads as a socket error just before the end of the stream; undici would report the end ("other side closed") and
 * lose the alert. Ending the socket at the alert lets the alert be what the attempt records.
 */
function keepingTlsAlerts<S extends Socket>(socket: S): S {
  socket.once('error', (error: NodeJS.ErrnoException) => {
    if (error.code?.startsWith('ERR_SSL')) socket.destroy();
  });
  return socket;
}

/**
 * Every address `hostname` resolves to, each judged by the policy (one refused answer refuses the name), in their
 * canonical form: exactly what was judged is what gets connected to.
 */
export async function vettedAddresses(policy: OutboundPolicy, resolver: Resolver, hostname: string) {
  const answers = await resolver(hostname);
  if (answers.length === 0) throw notFound(hostname);
  const addresses: LookupAddress[] = [];
  for (const { address } of answers) {
    const parsed = parseAddress(String(address));
    if (parsed === undefined) {
      const message = `refused by the SSRF guard: ${hostname} resolved to "${String(address).slice(0, 100)}", which is not an IP address`;
      throw new OutboundRefusedError({
        allowed: false,
        address: String(address),
        reason: 'not an IP address',
        message,
      });
    }
    const verdict = policy.checkAddress(String(address), hostname);
    if (!verdict.allowed) throw new OutboundRefusedError(verdict);
    addresses.push({ address: parsed.toString(), family: parsed.kind() === 'ipv4' ? 4 : 6 });
  }
  return addresses;
}

const notFound = (hostname: string) =>
  Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname });

/**
 * The `lookup` a socket uses for a hostname: one resolution through vettedAddresses, handed to the socket in the
 * shape net asks for (`all` or one address).
 */
export function guardedLookup(policy: OutboundPolicy, resolver: Resolver): LookupFunction {
  return (hostname, options, callback) => {
    vettedAddresses(policy, resolver, hostname).then(
      (addresses) => {
        const wanted =
          options.family === 4 || options.family === 6
            ? addresses.filter((entry) => entry.family === options.family)
            : addresses;
        if (wanted.length === 0) callback(notFound(hostname), '', 0);
        else if (options.all) callback(null, wanted);
        else callback(null, wanted[0].address, wanted[0].family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 };

/**
 * Connections as CONNECT tunnels through the egress proxy. The target is judged first (an IP literal as it is, a
 * name resolved by `resolver` and every answer judged), and the tunnel is asked for the vetted address, never the
 * name; TLS to an https:// receiver then runs inside the tunnel with the receiver's name as SNI and for
 * verification. The proxy itself is reached without the policy: it is the operator's own address.
 */
function tunnelledConnector(
  policy: OutboundPolicy,
  resolver: Resolver,
  proxy: EgressProxy,
  tlsConnectOptions: buildConnector.BuildOptions,
): buildConnector.connector {
  const tlsConnect = buildConnector(tlsConnectOptions);

  async function vetted(host: string): Promise<string> {
    if (parseAddress(host) !== undefined) {
      const verdict = policy.checkAddress(host);
      if (!verdict.allowed) throw new OutboundRefusedError(verdict);
      return host;
    }
    return (await vettedAddresses(policy, resolver, host))[0].address;
  }

  return (options, callback) => {
    const host = stripBrackets(options.hostname);
    const port = Number(options.port) || DEFAULT_PORTS[options.protocol];
    vetted(host)
      .then((address) => proxy.tunnel(`${address.includes(':') ? `[${address}]` : address}:${port}`))
      .then(
        (socket) => {
          if (options.protocol !== 'https:') callback(null, socket);
          else
            tlsConnect({ ...options, httpSocket: socket }, (error, tls) =>
              error === null ? callback(null, keepingTlsAlerts(tls)) : callback(error, null),
            );
        },
        (error: Error) => callback(error, null),
      );
  };
}
