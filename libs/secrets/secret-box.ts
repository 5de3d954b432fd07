import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Signing secrets at rest: AES-256-GCM under a master key from configuration. The stored form names the key that
 * sealed it (`v1:<key id>:<base64 iv|tag|ciphertext>`), so the master key can rotate: put the new key first in
 * SECRETS_MASTER_KEYS, keep the old one after it until every secret was resealed with the new one.
 */
export class SecretBox {
  private readonly keys: ReadonlyMap<string, Buffer>;
  readonly currentKeyId: string;

  constructor(keyring: Array<{ id: string; key: Buffer }>) {
    if (keyring.length === 0) throw new Error('the keyring needs at least one master key');
    for (const { id, key } of keyring) {
      if (!/^[A-Za-z0-9_-]{1,32}$/.test(id))
        throw new Error(`master key id "${id}" must be 1-32 letters, digits, _ or -`);
      if (key.length !== 32) throw new Error(`master key "${id}" must be 32 bytes (base64 of 32 random bytes)`);
    }
    this.keys = new Map(keyring.map(({ id, key }) => [id, key]));
    this.currentKeyId = keyring[0].id;
  }

  /** `SECRETS_MASTER_KEYS` format: `id:base64key[,id:base64key…]`, newest first. */
  static parse(text: string): SecretBox {
    return new SecretBox(
      text
        .split(',')
        .map((entry) => entry.trim())
        .filter(Boolean)
        .map((entry) => {
          const at = entry.indexOf(':');
          if (at <= 0) throw new Error('each entry must be id:base64key');
          return { id: entry.slice(0, at), key: Buffer.from(entry.slice(at + 1), 'base64') };
        }),
    );
  }

  static generateKeyEntry(id: string): string {
    return `${id}:${randomBytes(32).toString('base64')}`;
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.currentKeyId)!, iv);
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `v1:${this.currentKeyId}:${Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64')}`;
  }

  open(sealed: string): string {
    const [version, keyId, payload] = sealed.split(':');
    if (version !== 'v1' || payload === undefined) throw new Error('not a sealed secret');
    const key = this.keys.get(keyId);
    if (!key) throw new Error(`secret sealed with master key "${keyId}", which is not in SECRETS_MASTER_KEYS`);
    const bytes = Buffer.from(payload, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12));
    decipher.setAuthTag(bytes.subarray(12, 28));
    return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
  }

  /** The stored value's secret: sealed values are opened, plaintext (pre-encryption rows) is returned as is. */
  reveal(stored: string): string {
    return stored.startsWith('v1:') ? this.open(stored) : stored;
  }
}
