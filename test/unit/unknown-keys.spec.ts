import { Authenticator } from '../../apps/api/src/auth/authenticator';
import { UnknownKeys } from '../../apps/api/src/auth/unknown-keys';
import { loadConfig } from '../../libs/config/config';
import { ApiKeysRepository, hashApiKey } from '../../libs/db/api-keys.repository';
import { PortalSessionsRepository } from '../../libs/db/portal-sessions.repository';

/** An ApiKeysRepository whose lookups are counted; `known` holds the digests it finds. */
function countingKeys(known: Map<string, { id: string; tenant_id: string }>) {
  const lookups: string[] = [];
  const repository = {
    findActive: async (digest: string) => {
      lookups.push(digest);
      return known.get(digest);
    },
  } as unknown as ApiKeysRepository;
  return { repository, lookups };
}

function authenticator(repository: ApiKeysRepository, unknownKeyCacheMs: number) {
  const config = loadConfig({ API_KEYS: 'service-key-0123456789', UNKNOWN_KEY_CACHE_TTL: `${unknownKeyCacheMs}ms` });
  return new Authenticator(config, repository, {} as PortalSessionsRepository);
}

describe('unknown bearer keys', () => {
  it('asks Postgres once for a key it does not know, and refuses the same key again within the window without asking', async () => {
    const { repository, lookups } = countingKeys(new Map());
    const auth = authenticator(repository, 60_000);
    for (let i = 0; i < 3; i++)
      await expect(auth.authenticate({ authorization: 'Bearer iaw_tk_wrong' })).rejects.toMatchObject({
        status: 401,
        code: 'unauthorized',
      });
    expect(lookups).toEqual([hashApiKey('iaw_tk_wrong')]);
  });

  it('keeps asking when the cache is off, and never caches a key that exists', async () => {
    const known = new Map([[hashApiKey('iaw_tk_real'), { id: 'key_1', tenant_id: 'tnt_a' }]]);
    const { repository, lookups } = countingKeys(known);
    const off = authenticator(repository, 0);
    await expect(off.authenticate({ authorization: 'Bearer iaw_tk_wrong' })).rejects.toMatchObject({ status: 401 });
    await expect(off.authenticate({ authorization: 'Bearer iaw_tk_wrong' })).rejects.toMatchObject({ status: 401 });
    expect(lookups).toHaveLength(2);
    const on = authenticator(repository, 60_000);
    await on.authenticate({ authorization: 'Bearer iaw_tk_real' });
    await expect(on.authenticate({ authorization: 'Bearer iaw_tk_real' })).resolves.toMatchObject({
      tenantId: 'tnt_a',
    });
    expect(lookups).toHaveLength(4);
  });

  it('forgets a digest when its window ends, and holds at most its capacity (the oldest dropped first)', () => {
    let now = 0;
    const keys = new UnknownKeys(5_000, 2, () => now);
    keys.add('a');
    now = 4_999;
    expect(keys.has('a')).toBe(true);
    now = 5_000;
    expect(keys.has('a')).toBe(false);
    keys.add('b');
    keys.add('c');
    keys.add('d');
    expect([keys.has('b'), keys.has('c'), keys.has('d')]).toEqual([false, true, true]);
  });
});
