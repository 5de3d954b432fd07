/**
 * SHA-256 digests of bearer keys that matched no key, refused for `ttlMs` without asking Postgres again: a client
 * repeating a wrong key costs a map lookup, not a query. Only digests are kept (never a key), at most `capacity`
 * of them, the oldest dropped first. A key is never refused for having been unknown before it existed: tenant keys
 * are 32 random bytes, so a new one cannot already be here.
 */
export class UnknownKeys {
  private readonly refusedUntil = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly capacity = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  has(digest: string): boolean {
    const until = this.refusedUntil.get(digest);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.refusedUntil.delete(digest);
    return false;
  }

  add(digest: string): void {
    if (this.ttlMs === 0) return;
    this.refusedUntil.delete(digest);
    if (this.refusedUntil.size >= this.capacity) this.refusedUntil.delete(this.refusedUntil.keys().next().value!);
    this.refusedUntil.set(digest, this.now() + this.ttlMs);
  }
}
