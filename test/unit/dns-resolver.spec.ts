import { createSocket, Socket } from 'node:dgram';
import { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dnsResolver, parseHosts } from '../../libs/outbound/dns-resolver';
import { guardedLookup, OutboundRefusedError } from '../../libs/outbound/guarded-connector';
import { OutboundPolicy } from '../../libs/outbound/address-policy';
import { eventually } from '../helpers/eventually';

/**
 * A DNS server on 127.0.0.1 (UDP, the wire format by hand): it answers A queries from `records`, answers every
 * other query of a known name with no records, and holds the queries of a name in `silent` unanswered, like a
 * tenant's broken DNS, until release() answers them.
 */
class TestDnsServer {
  readonly asked: string[] = [];
  private socket: Socket | undefined;
  private held: Array<{ query: Buffer; port: number; address: string }> = [];

  constructor(
    private readonly records: Record<string, string[]>,
    private readonly silent: Set<string>,
  ) {}

  async start(): Promise<string> {
    const socket = createSocket('udp4');
    this.socket = socket;
    socket.on('message', (query, peer) => {
      const { name } = questionOf(query);
      this.asked.push(name);
      if (this.silent.has(name)) this.held.push({ query, port: peer.port, address: peer.address });
      else this.answer(query, peer.port, peer.address);
    });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(socket.address() as AddressInfo).port}`;
  }

  /** Answers the held queries of `name` (with no record) and every later one. */
  release(name: string): void {
    this.silent.delete(name);
    const [released, kept] = [
      this.held.filter(({ query }) => questionOf(query).name === name),
      this.held.filter(({ query }) => questionOf(query).name !== name),
    ];
    this.held = kept;
    for (const { query, port, address } of released) this.answer(query, port, address);
  }

  private answer(query: Buffer, port: number, address: string): void {
    const { name, end } = questionOf(query);
    const type = query.readUInt16BE(end);
    const records = type === 1 ? (this.records[name] ?? []) : [];
    const known = name in this.records;
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2);
    // A response, recursion desired and available; NXDOMAIN (rcode 3) for a name it does not know.
    header.writeUInt16BE(0x8180 | (known ? 0 : 3), 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(records.length, 6);
    const answers = records.map((record) => {
      const answer = Buffer.alloc(16);
      answer.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
      answer.writeUInt16BE(1, 2); // A
      answer.writeUInt16BE(1, 4); // IN
      answer.writeUInt32BE(60, 6); // TTL
      answer.writeUInt16BE(4, 10);
      record.split('.').forEach((octet, i) => answer.writeUInt8(Number(octet), 12 + i));
      return answer;
    });
    this.socket!.send(Buffer.concat([header, query.subarray(12, end + 4), ...answers]), port, address);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => (this.socket ? this.socket.close(() => resolve()) : resolve()));
  }
}

/** The question's name (labels joined by dots) and the offset just after it, where its type begins. */
function questionOf(query: Buffer): { name: string; end: number } {
  const labels: string[] = [];
  let at = 12;
  while (query[at] !== 0) {
    labels.push(query.subarray(at + 1, at + 1 + query[at]).toString('ascii'));
    at += 1 + query[at];
  }
  return { name: labels.join('.').toLowerCase(), end: at + 1 };
}

const server = new TestDnsServer(
  { 'hooks.fast.test': ['93.184.216.34'], 'hooks.private.test': ['10.0.0.5'] },
  new Set(['hooks.never.test', 'hooks.late.test']),
);
let address: string;
let hostsDir: string;
beforeAll(async () => {
  address = await server.start();
  hostsDir = mkdtempSync(join(tmpdir(), 'iaw-hosts-'));
});
afterAll(async () => {
  await server.stop();
  rmSync(hostsDir, { recursive: true, force: true });
});

describe('the receivers’ resolver (c-ares, off the threadpool)', () => {
  it('answers another host at once while more lookups than the threadpool has threads wait on a host that never answers', async () => {
    // No timeout can end the held lookups first, however slow the box: only release does.
    const resolve = dnsResolver({ servers: [address], timeoutMs: 60_000, tries: 1 });
    let settled = 0;
    const stuck = Array.from({ length: 8 }, () => resolve('hooks.late.test').finally(() => settled++));
    await expect(resolve('hooks.fast.test')).resolves.toEqual([{ address: '93.184.216.34', family: 4 }]);
    expect(settled).toBe(0);
    // Every held lookup's A and AAAA queries reached the server, none answered.
    await eventually(() => server.asked.filter((name) => name === 'hooks.late.test').length, {
      timeout: 10_000,
      until: (count) => count === 16,
      description: 'the 16 queries of the held lookups',
    });
    expect(settled).toBe(0);
    server.release('hooks.late.test');
    // Answered at last, with NXDOMAIN: the name has no address.
    for (const lookup of stuck) await expect(lookup).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });

  it('fails a host that never answers with ETIMEOUT once its tries are spent, and an unknown one with ENOTFOUND', async () => {
    const resolve = dnsResolver({ servers: [address], timeoutMs: 200, tries: 2 });
    await expect(resolve('hooks.never.test')).rejects.toMatchObject({
      code: 'ETIMEOUT',
      message: expect.stringContaining('hooks.never.test'),
    });
    await expect(resolve('hooks.nowhere.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });

  it('answers IP literals, localhost and the hosts file itself, without asking the server', async () => {
    const hostsFile = join(hostsDir, 'hosts');
    writeFileSync(
      hostsFile,
      '127.0.0.1 localhost\n::1 localhost ip6-localhost # loopback\n10.1.2.3 Billing.Internal\n',
    );
    const asked = server.asked.length;
    const resolve = dnsResolver({ servers: [address], hostsFile });
    await expect(resolve('billing.internal')).resolves.toEqual([{ address: '10.1.2.3', family: 4 }]);
    await expect(resolve('localhost')).resolves.toEqual([
      { address: '127.0.0.1', family: 4 },
      { address: '::1', family: 6 },
    ]);
    await expect(resolve('127.0.0.1')).resolves.toEqual([{ address: '127.0.0.1', family: 4 }]);
    const withoutHostsFile = dnsResolver({ servers: [address], hostsFile: join(hostsDir, 'none') });
    await expect(withoutHostsFile('app.localhost')).resolves.toEqual([
      { address: '127.0.0.1', family: 4 },
      { address: '::1', family: 6 },
    ]);
    expect(server.asked.length).toBe(asked);
    expect([...parseHosts('# only a comment\n  \nnot-an-address name\n').keys()]).toEqual([]);
  });

  it('hands its answers to the SSRF guard like any others: a private answer is refused', async () => {
    const lookup = guardedLookup(new OutboundPolicy([]), dnsResolver({ servers: [address] }));
    const outcome = (hostname: string) =>
      new Promise<unknown>((resolve) =>
        lookup(hostname, { all: true }, (error, addresses) => resolve(error ?? addresses)),
      );
    expect(await outcome('hooks.fast.test')).toEqual([{ address: '93.184.216.34', family: 4 }]);
    const refused = await outcome('hooks.private.test');
    expect(refused).toBeInstanceOf(OutboundRefusedError);
    expect((refused as Error).message).toContain('hooks.private.test resolved to 10.0.0.5');
  });
});
