import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../tools/embedded/free-port';
import { eventually } from './eventually';

/**
 * A real forward proxy: Debian's tinyproxy (.ci/run installs it), in the foreground on `host`, with Basic
 * authentication, logging every connection and request line to a file the test reads.
 */
export class ForwardProxy {
  private child?: ChildProcess;
  private readonly dir = mkdtempSync(join(tmpdir(), 'iaw-proxy-'));
  private port = 0;

  constructor(
    private readonly host: string,
    private readonly user: string,
    private readonly password: string,
  ) {}

  /** Answers the proxy's URL with its credentials: what WEBHOOK_EGRESS_PROXY takes. */
  async start(): Promise<string> {
    try {
      execFileSync('tinyproxy', ['-v'], { stdio: 'pipe' });
    } catch {
      throw new Error('tinyproxy is not installed: apt-get install tinyproxy (.ci/run does it)');
    }
    this.port = await freePort();
    writeFileSync(
      join(this.dir, 'tinyproxy.conf'),
      [
        `Port ${this.port}`,
        `Listen ${this.host}`,
        'Timeout 30',
        `LogFile "${join(this.dir, 'tinyproxy.log')}"`,
        'LogLevel Info',
        'MaxClients 50',
        'Allow 127.0.0.0/8',
        `BasicAuth ${this.user} ${this.password}`,
      ].join('\n'),
    );
    this.child = spawn('tinyproxy', ['-d', '-c', join(this.dir, 'tinyproxy.conf')], { stdio: 'ignore' });
    await eventually(() => this.log().includes('Accepting connections'), {
      timeout: 10_000,
      description: 'tinyproxy to accept connections',
    });
    return `http://${this.user}:${this.password}@${this.host}:${this.port}`;
  }

  /** Everything tinyproxy logged so far. */
  log(): string {
    try {
      return readFileSync(join(this.dir, 'tinyproxy.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** The CONNECT requests it received, as `host:port`. */
  connects(): string[] {
    return [...this.log().matchAll(/Request \(file descriptor \d+\): CONNECT (\S+) HTTP/g)].map((match) => match[1]);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
