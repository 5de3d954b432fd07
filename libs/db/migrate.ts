import { join } from 'node:path';
import { runner } from 'node-pg-migrate';
import { projectRoot } from '../config/project-root';

export const MIGRATIONS_DIR = join(projectRoot(), 'libs', 'db', 'migrations');

const LOCK_WAIT_MS = 60_000;

/**
 * Applies pending migrations. node-pg-migrate takes an advisory try-lock and fails when another process holds it
 * (api and worker start together), so this waits for the other migrator instead of failing the start.
 */
export async function migrate(databaseUrl: string): Promise<void> {
  const giveUpAt = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await runner({
        databaseUrl,
        dir: MIGRATIONS_DIR,
        direction: 'up',
        migrationsTable: 'schema_migrations',
        count: Infinity,
        log: () => undefined,
        noLock: false,
      });
      return;
    } catch (error) {
      if (!/Another migration is already running/.test((error as Error).message) || Date.now() > giveUpAt) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200 + Math.random() * 300));
    }
  }
}
