import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KeyPair {
  certificate: string;
  privateKey: string;
}

/** A small PKI made for one test run: a CA, a server certificate for 127.0.0.1 and client certificates. */
export interface TestPki {
  ca: string;
  /** Signed by `ca`, for IP 127.0.0.1. */
  server: KeyPair;
  /** Signed by `ca`, for client authentication. */
  client: KeyPair;
  /** Self-signed: a client certificate no receiver of this PKI trusts. */
  stranger: KeyPair;
}

/** Made with the openssl command line (EC P-256 keys, valid two days). */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'iaw-pki-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const read = (name: string) => readFileSync(join(dir, name), 'utf8');
  try {
    openssl(
      'req',
      '-x509',
      ...newKey,
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '2',
      '-subj',
      '/CN=Receiver Test CA',
    );
    const signed = (name: string, subject: string, extensions: string): KeyPair => {
      writeFileSync(join(dir, `${name}.ext`), extensions);
      openssl('req', ...newKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
      openssl(
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.pem`,
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
      );
      return { certificate: read(`${name}.pem`), privateKey: read(`${name}.key`) };
    };
    const server = signed('server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    const client = signed('client', '/O=IntelliAuth/CN=webhooks client', 'extendedKeyUsage=clientAuth\n');
    openssl(
      'req',
      '-x509',
      ...newKey,
      '-keyout',
      'stranger.key',
      '-out',
      'stranger.pem',
      '-days',
      '2',
      '-subj',
      '/CN=stranger',
    );
    return {
      ca: read('ca.pem'),
      server,
      client,
      stranger: { certificate: read('stranger.pem'), privateKey: read('stranger.key') },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
