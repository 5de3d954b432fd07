import type { LookupAddress } from 'node:dns';
import { loadConfig } from '../../libs/config/config';
import { ConfigError } from '../../libs/config/readers';
import {
  AllowlistEntryError,
  classifyAddress,
  OutboundPolicy,
  parseAllowlist,
} from '../../libs/outbound/address-policy';
import { guardedLookup, OutboundRefusedError, Resolver } from '../../libs/outbound/guarded-connector';

/**
 * Addresses (in the encodings attackers use) that must never be connected to, with the reason the guard gives.
 * Nothing here opens a socket: literals are judged by the policy, resolved answers by the guarded lookup with a
 * fake resolver.
 */
const REFUSED: Array<[string, RegExp]> = [
  // IPv4 loopback, every encoding
  ['127.0.0.1', /loopback/],
  ['127.255.255.254', /loopback/],
  ['0x7f.1', /loopback/],
  ['2130706433', /loopback/],
  ['017700000001', /loopback/],
  ['127.1', /loopback/],
  ['0x7f000001', /loopback/],
  ['0177.0.0.1', /loopback/],
  // RFC 1918
  ['10.0.0.5', /private/],
  ['012.1.2.3', /private/], // octal 012 = 10
  ['172.16.0.1', /private/],
  ['172.31.255.255', /private/],
  ['192.168.1.1', /private/],
  // link-local and cloud metadata
  ['169.254.0.1', /link-local/],
  ['169.254.169.254', /metadata/],
  ['0xa9.0xfe.0xa9.0xfe', /metadata/],
  ['2852039166', /metadata/], // 169.254.169.254 as one integer
  ['169.254.170.2', /metadata/],
  ['168.63.129.16', /metadata/],
  ['100.100.100.200', /metadata/],
  ['192.0.0.192', /metadata/],
  // shared (CGNAT), multicast, unspecified, reserved, broadcast, benchmarking, documentation
  ['100.64.0.1', /CGNAT/],
  ['100.127.255.254', /CGNAT/],
  ['224.0.0.1', /multicast/],
  ['239.255.255.250', /multicast/],
  ['0.0.0.0', /unspecified/],
  ['0', /unspecified/],
  ['0.1.2.3', /unspecified/],
  ['240.0.0.1', /reserved/],
  ['255.255.255.255', /broadcast/],
  ['198.18.0.1', /benchmarking/],
  ['198.19.255.255', /benchmarking/],
  ['192.0.0.8', /reserved/],
  ['192.0.2.1', /documentation/],
  ['198.51.100.7', /documentation/],
  ['203.0.113.9', /documentation/],
  ['192.88.99.1', /reserved/],
  // IPv6 loopback and unspecified
  ['::1', /loopback/],
  ['[::1]', /loopback/],
  ['0:0:0:0:0:0:0:1', /loopback/],
  ['000:0:0000::01', /loopback/],
  ['::', /unspecified/],
  // IPv4-mapped and IPv4-translated: judged as the IPv4 address
  ['::ffff:127.0.0.1', /loopback/],
  ['[::ffff:127.0.0.1]', /loopback/],
  ['::ffff:7f00:1', /loopback/],
  ['::fFFf:127.0.0.1', /loopback/],
  ['::ffff:10.0.0.1', /private/],
  ['::ffff:169.254.169.254', /metadata/],
  ['::ffff:0:127.0.0.1', /loopback/],
  ['::127.0.0.1', /IPv4-compatible/], // not mapped: the URL parser makes it ::7f00:1
  ['::7f00:1', /IPv4-compatible/],
  ['::8.8.8.8', /IPv4-compatible/],
  // NAT64, 6to4, Teredo: judged as the embedded IPv4 address
  ['64:ff9b::127.0.0.1', /loopback/],
  ['64:ff9b::a9fe:a9fe', /metadata/],
  ['64:ff9b::10.0.0.1', /private/],
  ['64:ff9b:1::1', /NAT64/],
  ['2002:7f00:1::', /loopback/],
  ['2002:a9fe:a9fe::1', /metadata/],
  ['2002:c0a8:101::1', /private/],
  ['2001:0:4136:e378:8000:63bf:80ff:fffe', /loopback/], // Teredo, client 127.0.0.1 (obfuscated)
  // IPv6 private, link-local, metadata, multicast, reserved, documentation
  ['fc00::1', /private/],
  ['fd12:3456::1', /private/],
  ['fd00:ec2::254', /metadata/],
  ['fe80::1', /link-local/],
  ['fe80::1%eth0', /link-local/],
  ['fec0::1', /site-local/],
  ['ff02::1', /multicast/],
  ['100::1', /discard/],
  ['2001:db8::1', /documentation/],
  ['3fff::1', /documentation/],
  ['2001:2::1', /benchmarking/],
  ['5f00::1', /reserved/],
  ['4000::1', /outside global unicast/],
];

const PUBLIC = [
  '93.184.216.34',
  '1.1.1.1',
  '8.8.8.8',
  '11.0.0.1',
  '100.63.255.255',
  '100.128.0.0',
  '172.15.255.255',
  '172.32.0.0',
  '192.169.0.1',
  '169.253.255.255',
  '198.17.255.255',
  '198.20.0.0',
  '223.255.255.255',
  '2606:4700:4700::1111',
  '2001:4860:4860::8888',
  '::ffff:8.8.8.8',
  '64:ff9b::808:808',
  '2002:808:808::1',
];

/** Runs the guarded lookup for `hostname` with a resolver that answers `answers`; resolves the callback's arguments. */
function lookupThrough(
  policy: OutboundPolicy,
  hostname: string,
  answers: LookupAddress[],
  options: { all?: boolean; family?: number } = { all: true },
) {
  const resolver: Resolver = async () => answers;
  return new Promise<{ error: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number }>(
    (resolve) => {
      guardedLookup(policy, resolver)(hostname, options, (error, address, family) =>
        resolve({ error, address, family }),
      );
    },
  );
}

const familyOf = (text: string) => (classifyAddress(text).address.includes(':') ? 6 : 4);

describe('outbound address policy (SSRF guard)', () => {
  const strict = new OutboundPolicy([]);

  it(`lists at least 45 refused addresses and encodings (${REFUSED.length})`, () => {
    expect(REFUSED.length).toBeGreaterThanOrEqual(45);
  });

  it.each(REFUSED)('refuses the literal %s (%s)', (address, reason) => {
    const verdict = strict.checkAddress(address);
    expect(verdict.allowed).toBe(false);
    expect(verdict).toMatchObject({
      reason: expect.stringMatching(reason),
      message: expect.stringMatching(/^refused by the SSRF guard: /),
    });
    expect(strict.checkHost(address)).toMatchObject({ allowed: false });
  });

  it.each(REFUSED)('refuses a hostname that resolves to %s (%s)', async (address, reason) => {
    const { error } = await lookupThrough(strict, 'rebind.attacker.example', [{ address, family: familyOf(address) }]);
    expect(error).toBeInstanceOf(OutboundRefusedError);
    expect(error!.message).toMatch(/^refused by the SSRF guard: rebind\.attacker\.example resolved to /);
    expect(error!.message).toMatch(reason);
  });

  it('names the address and the reason the way an attempt records it', () => {
    expect(strict.checkAddress('10.0.0.5')).toMatchObject({
      allowed: false,
      message: 'refused by the SSRF guard: 10.0.0.5 is a private address',
    });
    expect(strict.checkAddress('0x7f.1')).toMatchObject({
      message: 'refused by the SSRF guard: 127.0.0.1 is a loopback address',
    });
    expect(strict.checkAddress('[::ffff:10.0.0.1]')).toMatchObject({
      embeddedIPv4: '10.0.0.1',
      message: 'refused by the SSRF guard: ::ffff:a00:1 (IPv4 10.0.0.1) is a private address',
    });
    expect(strict.checkAddress('169.254.169.254')).toMatchObject({
      message: 'refused by the SSRF guard: 169.254.169.254 is a cloud metadata address',
    });
  });

  it('judges what the WHATWG URL parser makes of each loopback encoding, as well as the raw text', () => {
    for (const raw of [
      '0x7f.1',
      '2130706433',
      '017700000001',
      '127.1',
      '0177.0.0.1',
      '0x7f000001',
      '[::ffff:127.0.0.1]',
      '[::ffff:7f00:1]',
      '[0:0:0:0:0:0:0:1]',
    ]) {
      const hostname = new URL(`http://${raw}:8080/hook`).hostname;
      expect([hostname, strict.checkHost(hostname)?.allowed]).toEqual([hostname, false]);
      expect([raw, strict.checkHost(raw)?.allowed]).toEqual([raw, false]);
    }
    expect(new URL('http://0x7f.1/').hostname).toBe('127.0.0.1');
    expect(new URL('http://[::ffff:127.0.0.1]/').hostname).toBe('[::ffff:7f00:1]');
  });

  it.each(PUBLIC)('allows the public address %s', (address) => {
    expect(classifyAddress(address).refusal).toBeUndefined();
    expect(strict.checkAddress(address)).toMatchObject({ allowed: true, allowlisted: false });
  });

  it('leaves hostnames to connect time (no DNS at create time)', () => {
    expect(strict.checkHost('hooks.example.com')).toBeUndefined();
    expect(strict.checkHost('localhost')).toBeUndefined();
  });

  it('refuses a name when any of its answers is refused, even beside a public one', async () => {
    const { error } = await lookupThrough(strict, 'mixed.example', [
      { address: '93.184.216.34', family: 4 },
      { address: '10.0.0.5', family: 4 },
    ]);
    expect(error).toBeInstanceOf(OutboundRefusedError);
    expect(error!.message).toBe('refused by the SSRF guard: mixed.example resolved to 10.0.0.5, a private address');
  });

  it('refuses an answer that is not an IP address at all', async () => {
    const { error } = await lookupThrough(strict, 'odd.example', [{ address: 'not-an-ip', family: 4 }]);
    expect(error).toBeInstanceOf(OutboundRefusedError);
  });

  it('hands the socket the vetted public answers, in the shape it asked for', async () => {
    const answers = [
      { address: '93.184.216.34', family: 4 },
      { address: '2606:4700:4700::1111', family: 6 },
    ];
    expect(await lookupThrough(strict, 'public.example', answers, { all: true })).toEqual({
      error: null,
      address: answers,
      family: undefined,
    });
    expect(await lookupThrough(strict, 'public.example', answers, { family: 6 })).toEqual({
      error: null,
      address: '2606:4700:4700::1111',
      family: 6,
    });
    expect(await lookupThrough(strict, 'public.example', answers, {})).toEqual({
      error: null,
      address: '93.184.216.34',
      family: 4,
    });
  });

  describe('allowlist (WEBHOOK_ALLOWED_TARGETS)', () => {
    it('lets a CIDR through, in any encoding of its addresses, and nothing beside it', () => {
      const policy = new OutboundPolicy(['127.0.0.1/32']);
      for (const address of ['127.0.0.1', '0x7f.1', '2130706433', '::ffff:127.0.0.1']) {
        expect(policy.checkAddress(address)).toMatchObject({ allowed: true, allowlisted: true });
      }
      expect(policy.checkAddress('127.0.0.2').allowed).toBe(false);
      expect(policy.checkAddress('::1').allowed).toBe(false);
      expect(policy.checkAddress('169.254.169.254').allowed).toBe(false);
    });

    it('takes IPv4 and IPv6 ranges and single addresses', () => {
      const policy = new OutboundPolicy(['10.0.0.0/8', 'fd00::/8', '192.168.1.7']);
      expect(policy.allowlist).toEqual(['10.0.0.0/8', 'fd00::/8', '192.168.1.7/32']);
      expect(policy.checkAddress('10.200.3.4').allowed).toBe(true);
      expect(policy.checkAddress('fd12::1').allowed).toBe(true);
      expect(policy.checkAddress('192.168.1.7').allowed).toBe(true);
      expect(policy.checkAddress('192.168.1.8').allowed).toBe(false);
      expect(policy.checkAddress('fc00::1').allowed).toBe(false);
      expect(policy.checkAddress('172.16.0.1').allowed).toBe(false);
    });

    it('lets an exact hostname reach whatever it resolves to, and only that name', async () => {
      const policy = new OutboundPolicy(['Hooks.Internal.Example.']);
      expect(policy.allowlist).toEqual(['hooks.internal.example']);
      expect(policy.checkAddress('10.0.0.5', 'hooks.internal.example')).toMatchObject({
        allowed: true,
        allowlisted: true,
      });
      expect(policy.checkAddress('10.0.0.5', 'HOOKS.internal.example.')).toMatchObject({ allowed: true });
      expect(policy.checkAddress('10.0.0.5', 'other.internal.example').allowed).toBe(false);
      expect(policy.checkAddress('10.0.0.5', 'sub.hooks.internal.example').allowed).toBe(false);
      expect(policy.checkAddress('10.0.0.5').allowed).toBe(false);
      expect(
        (await lookupThrough(policy, 'hooks.internal.example', [{ address: '10.0.0.5', family: 4 }])).error,
      ).toBeNull();
      expect((await lookupThrough(policy, 'evil.example', [{ address: '10.0.0.5', family: 4 }])).error).toBeInstanceOf(
        OutboundRefusedError,
      );
    });

    it.each([
      '10.0.0.0/33',
      '999.1.1.1/8',
      '::1/129',
      '10.0.0.0/x',
      '0x7f.1',
      '127.1',
      '*.example.com',
      'http://hooks.example',
      'not a host',
      '1.2.3',
    ])('refuses the entry %s', (entry) => {
      expect(() => parseAllowlist([entry])).toThrow(AllowlistEntryError);
      expect(() => loadConfig({ WEBHOOK_ALLOWED_TARGETS: `127.0.0.1/32,${entry}` })).toThrow(ConfigError);
      expect(() => loadConfig({ WEBHOOK_ALLOWED_TARGETS: `127.0.0.1/32,${entry}` })).toThrow(
        /^WEBHOOK_ALLOWED_TARGETS: /,
      );
    });

    it('is empty by default and read, normalised, from the environment', () => {
      expect(loadConfig({}).outboundAllowlist).toEqual([]);
      expect(loadConfig({ WEBHOOK_ALLOWED_TARGETS: '' }).outboundAllowlist).toEqual([]);
      expect(
        loadConfig({ WEBHOOK_ALLOWED_TARGETS: ' 127.0.0.1/32, ::1/128 ,hooks.internal.example,' }).outboundAllowlist,
      ).toEqual(['127.0.0.1/32', '::1/128', 'hooks.internal.example']);
    });
  });
});
