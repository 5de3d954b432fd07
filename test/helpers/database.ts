import { Client, Pool } from 'pg';
import { newSubscriptionId } from '../../libs/contracts/ids';
import { migrate } from '../../libs/db/migrate';
import { createPool } from '../../libs/db/pool';
import { NewSubscription } from '../../libs/db/subscription-records';
import { generateSigningSecret } from '../../libs/signing/signing';

/**
 * This jest worker's own database on the Postgres that tools/test.js started (or DATABASE_URL), copied from the
 * migrated one: a worker's outbox relay starts every unstarted delivery of its database, so two workers' suites
 * must not share one.
 */
export function testDatabaseUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set: run the suite with npm test');
  const workerUrl = new URL(url);
  workerUrl.pathname = `${workerUrl.pathname}_jest${process.env.JEST_WORKER_ID ?? '1'}`;
  return workerUrl.toString();
}

export function testPool(): Pool {
  return createPool(testDatabaseUrl(), 5);
}

let counter = 0;
/** A tenant id no other test uses, so suites sharing one database never see each other's rows. */
export function uniqueTenant(): string {
  return `tnt_${process.pid}_${Date.now().toString(36)}_${++counter}`;
}

/** One master key for the whole run (tools/test.js makes it): every suite shares the database and its secrets. */
export function testMasterKeys(): string {
  const keys = process.env.TEST_SECRETS_MASTER_KEYS;
  if (!keys) throw new Error('TEST_SECRETS_MASTER_KEYS is not set: run the suite with npm test');
  return keys;
}

/**
 * A migrated database of its own in the suite's Postgres, for a suite whose work spans the whole database (the
 * retention purge deletes old rows of every tenant) and so must not share it with suites running beside it.
 */
export async function createIsolatedDatabase(prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}`;
  const admin = () => new Client({ connectionString: testDatabaseUrl() });
  const create = admin();
  await create.connect();
  await create.query(`CREATE DATABASE ${name}`).finally(() => create.end());
  const url = new URL(testDatabaseUrl());
  url.pathname = `/${name}`;
  await migrate(url.toString());
  return {
    url: url.toString(),
    async drop() {
      const drop = admin();
      await drop.connect();
      await drop.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).finally(() => drop.end());
    },
  };
}

/** A subscription row of the tenant to `user.*` at a closed port, as a repository test stores it directly. */
export const newSubscriptionRow = (tenantId: string, fields: Partial<NewSubscription> = {}): NewSubscription => ({
  id: newSubscriptionId(),
  tenantId,
  url: 'http://127.0.0.1:9/hook',
  eventTypes: ['user.*'],
  description: null,
  signingSecret: generateSigningSecret(),
  ...fields,
});
