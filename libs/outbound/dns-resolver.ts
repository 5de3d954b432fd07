import { readFileSync } from 'node:fs';
import type { LookupAddress } from 'node:dns';
import { Resolver as CaresResolver } from 'node:dns/promises';
import { isIP } from 'node:net';

/** Resolves a hostname to every address it has (A and AAAA), like `dns.lookup(host, { all: true })`. */
export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

export interface DnsResolverOptions {
  /** DNS servers (`1.1.1.1`, `[::1]:53`, `127.0.0.1:5353`); unset, the system's (/etc/resolv.conf). */
  servers?: string[];
  /** How long one query waits for an answer before it is sent again, and how often it is sent in all. */
  timeoutMs?: number;
  tries?: number;
  /** The hosts file, read once when the resolver is made. */
  hostsFile?: string;
}

const LOCALHOST: LookupAddress[] = [
  { address: '127.0.0.1', family: 4 },
  { address: '::1', family: 6 },
];

/** Every name of a hosts file (`address name [alias…]`, `#` comments), lower case, with its addresses in file order. */
export function parseHosts(text: string): Map<string, LookupAddress[]> {
  const hosts = new Map<string, LookupAddress[]>();
  for (const line of text.split('\n')) {
    const [address, ...names] = line.replace(/#.*/, '').trim().split(/\s+/);
    const family = isIP(address ?? '');
    if (family === 0) continue;
    for (const name of names) {
      const known = hosts.get(name.toLowerCase()) ?? [];
      if (!known.some((entry) => entry.address === address)) known.push({ address, family });
      hosts.set(name.toLowerCase(), known);
    }
  }
  return hosts;
}

function readHosts(path: string): Map<string, LookupAddress[]> {
  try {
    return parseHosts(readFileSync(path, 'utf8'));
  } catch {
    return new Map();
  }
}

/**
 * The receivers' resolver: A and AAAA queries through c-ares (`dns.Resolver`), which runs on the event loop, not
 * getaddrinfo (`dns.lookup`), which holds one of libuv's 4 threadpool threads for as long as a lookup takes: a
 * receiver whose DNS never answers would otherwise hold all four, and every other tenant's lookups (and file I/O,
 * crypto, zlib) would queue behind it. c-ares reads neither the hosts file nor search domains, so the hosts file
 * is read here once, `localhost` is loopback (RFC 6761), an IP literal is itself, and any other name is asked as
 * written. The answers are judged by the SSRF guard like any others.
 */
export function dnsResolver({
  servers,
  timeoutMs = 2_500,
  tries = 2,
  hostsFile = '/etc/hosts',
}: DnsResolverOptions = {}): Resolver {
  const resolver = new CaresResolver({ timeout: timeoutMs, tries });
  if (servers !== undefined) resolver.setServers(servers);
  const hosts = readHosts(hostsFile);
  return async (hostname) => {
    const name = hostname.toLowerCase().replace(/\.$/, '');
    const family = isIP(name);
    if (family !== 0) return [{ address: name, family }];
    const known = hosts.get(name) ?? (name === 'localhost' || name.endsWith('.localhost') ? LOCALHOST : undefined);
    if (known !== undefined) return known;
    const [v4, v6] = await Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)]);
    const answers = [
      ...(v4.status === 'fulfilled' ? v4.value.map((address) => ({ address, family: 4 })) : []),
      ...(v6.status === 'fulfilled' ? v6.value.map((address) => ({ address, family: 6 })) : []),
    ];
    if (answers.length > 0) return answers;
    const codes = [v4, v6].map((result) =>
      result.status === 'rejected' ? String((result.reason as NodeJS.ErrnoException).code) : 'ENODATA',
    );
    throw lookupFailure(hostname, codes);
  };
}

/**
 * One error for both queries, with the code the sender reports: ENOTFOUND when the name has no address, ETIMEOUT
 * when a server did not answer in time, EAI_AGAIN for any other server failure (c-ares says ECONNREFUSED when
 * the DNS server refused, which must not read as the receiver refusing the connection).
 */
function lookupFailure(hostname: string, codes: string[]): NodeJS.ErrnoException {
  const code = codes.every((each) => each === 'ENOTFOUND' || each === 'ENODATA')
    ? 'ENOTFOUND'
    : codes.includes('ETIMEOUT')
      ? 'ETIMEOUT'
      : 'EAI_AGAIN';
  return Object.assign(new Error(`DNS lookup of ${hostname} failed (A: ${codes[0]}, AAAA: ${codes[1]})`), {
    code,
    hostname,
  });
}
