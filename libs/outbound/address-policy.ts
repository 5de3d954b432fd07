import ipaddr from 'ipaddr.js';
import { isIP } from 'node:net';

/**
 * Which addresses an outbound webhook may connect to. Private, loopback, link-local, shared (CGNAT), multicast,
 * reserved, documentation, benchmarking and cloud metadata addresses are refused, whatever their encoding: the
 * text is parsed by ipaddr.js (so `0x7f.1`, `2130706433`, `017700000001`, `127.1` are 127.0.0.1) and IPv6 forms
 * that embed an IPv4 address (mapped `::ffff:a.b.c.d`, IPv4-translated `::ffff:0:a.b.c.d`, NAT64 `64:ff9b::/96`,
 * 6to4 `2002::/16`, Teredo `2001::/32`) are judged as that IPv4 address. An operator allowlist (CIDRs and exact
 * hostnames, WEBHOOK_ALLOWED_TARGETS) overrides the refusal.
 */

type IP = ipaddr.IPv4 | ipaddr.IPv6;
type Rule = { range: [IP, number]; reason: string };

const METADATA = 'a cloud metadata address';

const rules = (list: Array<[string, string]>): Rule[] =>
  list.map(([cidr, reason]) => ({ range: ipaddr.parseCIDR(cidr), reason }));

/** First match wins, so the metadata addresses are named as such rather than as link-local or private. */
const IPV4_RULES = rules([
  ['169.254.169.254/32', METADATA], // AWS, GCP, Azure, OCI instance metadata
  ['169.254.170.2/32', METADATA], // AWS ECS task metadata and credentials
  ['168.63.129.16/32', METADATA], // Azure WireServer (outside 169.254/16)
  ['100.100.100.200/32', METADATA], // Alibaba Cloud
  ['192.0.0.192/32', METADATA], // Oracle Cloud, legacy
  ['0.0.0.0/8', 'an unspecified ("this network") address'],
  ['127.0.0.0/8', 'a loopback address'],
  ['10.0.0.0/8', 'a private address'],
  ['172.16.0.0/12', 'a private address'],
  ['192.168.0.0/16', 'a private address'],
  ['169.254.0.0/16', 'a link-local address'],
  ['100.64.0.0/10', 'a shared (CGNAT) address'],
  ['192.0.0.0/24', 'a reserved address (IETF protocol assignments)'],
  ['192.0.2.0/24', 'a documentation address'],
  ['198.51.100.0/24', 'a documentation address'],
  ['203.0.113.0/24', 'a documentation address'],
  ['192.88.99.0/24', 'a reserved address (6to4 relay anycast)'],
  ['198.18.0.0/15', 'a benchmarking address'],
  ['224.0.0.0/4', 'a multicast address'],
  ['255.255.255.255/32', 'the broadcast address'],
  ['240.0.0.0/4', 'a reserved address (240.0.0.0/4)'],
]);

const IPV6_RULES = rules([
  ['fd00:ec2::254/128', METADATA], // AWS instance metadata over IPv6
  ['::/128', 'the unspecified address'],
  ['::1/128', 'a loopback address'],
  ['::/96', 'a reserved address (IPv4-compatible, deprecated)'],
  ['64:ff9b:1::/48', 'a local-use NAT64 address'],
  ['100::/64', 'a reserved address (discard-only)'],
  ['2001:db8::/32', 'a documentation address'],
  ['3fff::/20', 'a documentation address'],
  ['2001:2::/48', 'a benchmarking address'],
  ['5f00::/16', 'a reserved address (SRv6)'],
  ['fc00::/7', 'a private address (unique local)'],
  ['fe80::/10', 'a link-local address'],
  ['fec0::/10', 'a site-local address (deprecated)'],
  ['ff00::/8', 'a multicast address'],
]);
/** Every IPv6 address outside global unicast that no rule above names is refused too (fail closed). */
const IPV6_GLOBAL_UNICAST = ipaddr.parseCIDR('2000::/3');

const ipv4From = (high: number, low: number) => new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
const inRange = (address: IP, range: [IP, number]) => address.kind() === range[0].kind() && address.match(range);

/** The IPv4 address an IPv6 address carries and would reach, if it is one of the embedding forms. */
function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const p = address.parts;
  const upper96 = (prefix: number[]) => prefix.every((part, i) => p[i] === part);
  if (upper96([0, 0, 0, 0, 0, 0xffff])) return ipv4From(p[6], p[7]); // IPv4-mapped ::ffff:0:0/96
  if (upper96([0, 0, 0, 0, 0xffff, 0])) return ipv4From(p[6], p[7]); // IPv4-translated ::ffff:0:0:0/96 (RFC 6145)
  if (upper96([0x64, 0xff9b, 0, 0, 0, 0])) return ipv4From(p[6], p[7]); // NAT64 well-known prefix 64:ff9b::/96
  if (p[0] === 0x2002) return ipv4From(p[1], p[2]); // 6to4 2002:AABB:CCDD::/48
  if (p[0] === 0x2001 && p[1] === 0) return ipv4From(~p[6] & 0xffff, ~p[7] & 0xffff); // Teredo: the client, obfuscated
  return undefined;
}

/**
 * Parses an IP address in any encoding ipaddr.js accepts (dotted, hex, octal, integer, short forms, IPv6 with
 * or without brackets and zone); undefined when the text is not an IP address (a hostname).
 */
export function parseAddress(text: string): IP | undefined {
  let candidate = text.trim();
  if (candidate.startsWith('[') && candidate.endsWith(']')) candidate = candidate.slice(1, -1);
  const zone = candidate.indexOf('%');
  if (zone !== -1 && candidate.includes(':')) candidate = candidate.slice(0, zone);
  // A dotted quad ending IPv6 text is its last 32 bits. ipaddr.js reads `::a.b.c.d` as IPv4-mapped
  // (::ffff:a.b.c.d) where the URL parser and the kernel read IPv4-compatible (::a.b.c.d), so spell it in hex first.
  const dotted = candidate.includes(':') ? /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(candidate) : null;
  if (dotted) {
    const octets = dotted.slice(2).map(Number);
    if (octets.some((octet) => octet > 255)) return undefined;
    candidate = `${dotted[1]}${((octets[0] << 8) | octets[1]).toString(16)}:${((octets[2] << 8) | octets[3]).toString(16)}`;
  }
  if (!ipaddr.isValid(candidate)) return undefined;
  return ipaddr.parse(candidate);
}

export interface AddressClass {
  /** The address as parsed, in its canonical form. */
  address: string;
  /** The IPv4 address an IPv6 form embeds (mapped, NAT64, 6to4, Teredo); it is what was judged. */
  embeddedIPv4?: string;
  /** Why the address is refused ("a private address"), or undefined for a public address. */
  refusal?: string;
}

/** Classifies an address without the allowlist. Throws when the text is not an IP address. */
export function classifyAddress(text: string | IP): AddressClass {
  const parsed = typeof text === 'string' ? parseAddress(text) : text;
  if (parsed === undefined) throw new Error(`"${text as string}" is not an IP address`);
  const address = parsed.toString();
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    const embedded = embeddedIPv4(v6);
    if (embedded !== undefined)
      return { address, embeddedIPv4: embedded.toString(), refusal: classifyAddress(embedded).refusal };
    const rule = IPV6_RULES.find(({ range }) => inRange(v6, range));
    if (rule) return { address, refusal: rule.reason };
    if (!inRange(v6, IPV6_GLOBAL_UNICAST))
      return { address, refusal: 'a reserved address (outside global unicast 2000::/3)' };
    return { address };
  }
  const rule = IPV4_RULES.find(({ range }) => inRange(parsed, range));
  return rule ? { address, refusal: rule.reason } : { address };
}

export class AllowlistEntryError extends Error {}

/** Hostnames as DNS sees them: lower case, no trailing dot. */
export const normaliseHostname = (hostname: string) => hostname.trim().toLowerCase().replace(/\.$/, '');

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

/**
 * Reads allowlist entries: `10.1.2.0/24`, `fd12::/64`, a single address (`10.1.2.3`, `::1`) or an exact
 * hostname (`hooks.internal.example`). Addresses must be written plainly (dotted decimal or standard IPv6) so
 * an entry means what it looks like. Returns the entries in a normalised form; throws AllowlistEntryError.
 */
export function parseAllowlist(entries: readonly string[]): {
  cidrs: Array<[IP, number]>;
  hostnames: Set<string>;
  entries: string[];
} {
  const cidrs: Array<[IP, number]> = [];
  const hostnames = new Set<string>();
  const normalised: string[] = [];
  for (const raw of entries) {
    const entry = raw.trim();
    if (entry === '') continue;
    const slash = entry.indexOf('/');
    const addressPart = slash === -1 ? entry : entry.slice(0, slash);
    if (slash !== -1 || isIP(addressPart) !== 0) {
      const family = isIP(addressPart);
      if (family === 0)
        throw new AllowlistEntryError(`"${entry}" is not a CIDR: "${addressPart}" is not an IPv4 or IPv6 address`);
      const bitsText = slash === -1 ? String(family === 4 ? 32 : 128) : entry.slice(slash + 1);
      const bits = /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : NaN;
      if (!(bits >= 0 && bits <= (family === 4 ? 32 : 128))) {
        throw new AllowlistEntryError(
          `"${entry}" is not a CIDR: the prefix length must be 0-${family === 4 ? 32 : 128}`,
        );
      }
      const address = parseAddress(addressPart) as IP;
      cidrs.push([address, bits]);
      normalised.push(`${address.toString()}/${bits}`);
      continue;
    }
    if (ipaddr.isValid(entry)) {
      throw new AllowlistEntryError(
        `"${entry}" looks like an IP address in an unusual encoding; write it as ${ipaddr.parse(entry).toString()}`,
      );
    }
    const hostname = normaliseHostname(entry);
    if (!HOSTNAME.test(hostname) || /^[\d.]+$/.test(hostname)) {
      throw new AllowlistEntryError(
        `"${entry}" is neither a CIDR, an IP address nor a hostname (exact names only, no wildcards)`,
      );
    }
    hostnames.add(hostname);
    normalised.push(hostname);
  }
  return { cidrs, hostnames, entries: normalised };
}

export type Verdict =
  | { allowed: true; address: string; embeddedIPv4?: string; allowlisted: boolean }
  | { allowed: false; address: string; embeddedIPv4?: string; reason: string; message: string };

/** The prefix every refusal carries, so a recorded attempt says which layer stopped it. */
export const REFUSAL_PREFIX = 'refused by the SSRF guard';

export class OutboundPolicy {
  private readonly cidrs: Array<[IP, number]>;
  private readonly hostnames: Set<string>;
  /** The allowlist, normalised (`127.0.0.1/32`, `hooks.internal.example`). */
  readonly allowlist: readonly string[];

  /** Throws AllowlistEntryError for an entry that is neither a CIDR, an address nor a hostname. */
  constructor(allowlist: readonly string[] = []) {
    const parsed = parseAllowlist(allowlist);
    this.cidrs = parsed.cidrs;
    this.hostnames = parsed.hostnames;
    this.allowlist = parsed.entries;
  }

  isHostnameAllowlisted(hostname: string): boolean {
    return this.hostnames.has(normaliseHostname(hostname));
  }

  /**
   * The verdict for connecting to `address` (any encoding), optionally reached through `hostname` (the name the
   * URL carried, resolved to this address). Throws when `address` is not an IP address.
   */
  checkAddress(address: string, hostname?: string): Verdict {
    const parsed = parseAddress(address);
    if (parsed === undefined) throw new Error(`"${address}" is not an IP address`);
    const judged = classifyAddress(parsed);
    const base = { address: judged.address, ...(judged.embeddedIPv4 ? { embeddedIPv4: judged.embeddedIPv4 } : {}) };
    if (judged.refusal === undefined) return { allowed: true, ...base, allowlisted: false };
    const candidates: IP[] = [parsed, ...(judged.embeddedIPv4 ? [ipaddr.parse(judged.embeddedIPv4)] : [])];
    const byCidr = this.cidrs.some((range) => candidates.some((candidate) => inRange(candidate, range)));
    if (byCidr || (hostname !== undefined && this.isHostnameAllowlisted(hostname)))
      return { allowed: true, ...base, allowlisted: true };
    const shown = judged.embeddedIPv4 ? `${judged.address} (IPv4 ${judged.embeddedIPv4})` : judged.address;
    const subject =
      hostname !== undefined && parseAddress(hostname) === undefined
        ? `${hostname} resolved to ${shown}, ${judged.refusal}`
        : `${shown} is ${judged.refusal}`;
    return { allowed: false, ...base, reason: judged.refusal, message: `${REFUSAL_PREFIX}: ${subject}` };
  }

  /**
   * A URL's host before any DNS: an IP literal (any encoding, brackets allowed) gets its verdict; a hostname
   * gives undefined, since only the addresses it resolves to at connect time can be judged.
   */
  checkHost(host: string): Verdict | undefined {
    return parseAddress(host) === undefined ? undefined : this.checkAddress(host);
  }
}
