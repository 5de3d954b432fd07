/**
 * `npm start`: the embedded default. Postgres (embedded, or DATABASE_URL), a Temporal dev server (with its
 * SQLite file, or TEMPORAL_ADDRESS), migrations, then the api and the worker as child processes.
 * Ctrl-C stops everything it started; data stays in DATA_DIR, so the next start resumes waiting deliveries.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppConfig, loadConfig } from '../libs/config/config';
import { ConfigError } from '../libs/config/readers';
import { PartStartError } from './embedded/child-process';
import { Launched, launchEmbedded } from './embedded/launcher';
import { LauncherConfig, loadLauncherConfig } from './embedded/launcher-config';

const say = (message: string) => console.log(`[start] ${message}`);

/** The embedded default's service key: made once, kept in DATA_DIR so it survives restarts. */
function embeddedApiKey(config: AppConfig, dataDir: string): string {
  if (config.apiKeys.length > 0) return config.apiKeys[0];
  const file = join(dataDir, 'api-key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const key = `iaw_sk_${randomBytes(24).toString('base64url')}`;
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}

async function main(): Promise<void> {
  let config: AppConfig;
  let launcher: LauncherConfig;
  try {
    config = loadConfig();
    launcher = loadLauncherConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`[start] configuration error: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  const { dataDir } = launcher;
  mkdirSync(dataDir, { recursive: true });
  const apiKey = embeddedApiKey(config, dataDir);

  let launching: Promise<Launched> | undefined;
  const aborting = new AbortController();
  let stopping = false;
  const stop = async (code: number, why: string) => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    say(
      `${why}: stopping api and worker first (attempts in flight finish and are recorded), then Temporal, then Postgres...`,
    );
    // A stop during the start ends the launch, which stops what it started (waiting for a part in the middle of its
    // start, so none is left running in its own process group) and rejects.
    aborting.abort();
    const launched = await launching?.catch(() => undefined);
    await launched?.stop();
    say(`stopped in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    process.exit(code);
  };
  // Every part runs in a process group of its own, so a terminal's Ctrl-C (SIGINT to the foreground group) reaches
  // this process alone; npm forwards it too, so it may arrive twice. Closing the terminal sends SIGHUP.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop(0, signal));

  launching = launchEmbedded({
    config,
    apiKey,
    ...launcher,
    postgresDir: join(dataDir, 'postgres'),
    temporalDbFile: join(dataDir, 'temporal.db'),
    say,
    abort: aborting.signal,
  });
  const launched = await launching.catch((error: Error) => {
    if (stopping) return undefined;
    throw error;
  });
  if (stopping || !launched) return;

  const { delivery } = config;
  const lines = [
    `REST API      ${launched.apiUrl}/v1   (OpenAPI page: ${launched.apiUrl}/docs)`,
    `gRPC          127.0.0.1:${config.grpcPort}   (intelliauth.webhooks.v1.WebhooksService, reflection on)`,
    `Metrics       api ${launched.apiUrl}/metrics   worker ${launched.workerUrl}/metrics   (Prometheus text; /readyz on both)`,
    `API key       ${apiKey}   (Authorization: Bearer <key>)`,
    `Portal        ${launched.apiUrl}/portal/   open a session: curl -X POST -H 'Authorization: Bearer <key>' ${launched.apiUrl}/v1/tenants/<tenant id>/portal-sessions, then ${launched.apiUrl} + its url (once, within ${config.portal.sessionTtlMs / 60_000} min)`,
    `Temporal      ${launched.temporalAddress}` +
      (launched.temporalUiUrl ? `   Web UI: ${launched.temporalUiUrl}` : ''),
    `Postgres      ${launched.databaseUrl.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')}`,
    `Data          ${dataDir}`,
    `Outbound      private addresses refused; ` +
      (launched.outboundAllowlist.length > 0 ? `allowed: ${launched.outboundAllowlist.join(', ')}` : 'none allowed') +
      ` (WEBHOOK_ALLOWED_TARGETS${launched.outboundAllowlistDefaulted ? ', embedded default' : ''})`,
    `Schedule      ${delivery.retryScheduleMs.map((ms) => `${ms / 1000}s`).join(', ')}; attempt timeout ${delivery.attemptTimeoutMs / 1000}s; TTL ${delivery.ttlMs / 3_600_000}h`,
    'A part that exits by itself is restarted; Ctrl-C stops everything started here.',
  ];
  if (!launched.isRunning('worker'))
    lines.splice(-1, 0, 'Worker        not running yet: restarting it (see above); publishes wait in the outbox');
  console.log(`\n${lines.map((line) => `  ${line}`).join('\n')}\n`);
}

main().catch((error: Error) => {
  // A part that did not come up was stopped with everything else the launch had started.
  if (error instanceof PartStartError)
    console.error(`[start] failed, everything started was stopped: ${error.message}`);
  else console.error(`[start] failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
