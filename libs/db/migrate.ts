import { join } from 'node:path';
import { runner } from 'node-pg-migrate';
import { projectRoot } from '../config/project-root';

export const MIGRATIONS_DIR = join(projectRoot(), 'libs', 'db', 'migrations');

/** Applies pending migrations; node-pg-migrate's advisory lock lets api and worker call this at once. */
export async function migrate(databaseUrl: string): Promise<void> {
  await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'schema_migrations',
    count: Infinity,
    log: () => undefined,
    noLock: false,
  });
}
