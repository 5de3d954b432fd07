import { resolve } from 'node:path';
import { projectRoot } from '../../libs/config/project-root';
import { Env, port, text } from '../../libs/config/readers';
import { Loaded, optional, readSettings, setting } from '../../libs/config/setting';

/**
 * What only `npm start`'s embedded launcher reads, beside the api's and the worker's settings (which it passes on to
 * them): where it keeps its data, the `temporal` binary, and the ports of the embedded Postgres and dev server. One
 * line each, like APP_SETTINGS.
 */
// prettier-ignore
export const LAUNCHER_SETTINGS = {
  dataDir: setting('DATA_DIR', 'launcher', text(), '.data', "Postgres's data, the dev server's database and the generated keys, relative to the project"),
  temporalCliPath: optional('TEMPORAL_CLI_PATH', 'launcher', text(), '`PATH`, then the cache', 'the `temporal` binary that runs the dev server'),
  postgresPort: setting('EMBEDDED_POSTGRES_PORT', 'launcher', port(1), 54329, 'the embedded Postgres, on 127.0.0.1'),
  temporalPort: setting('EMBEDDED_TEMPORAL_PORT', 'launcher', port(1), 7233, 'the embedded Temporal dev server'),
  temporalUiPort: setting('TEMPORAL_UI_PORT', 'launcher', port(1), 8233, "the dev server's Web UI"),
};

export type LauncherConfig = Loaded<typeof LAUNCHER_SETTINGS>;

/** A value that does not parse throws a ConfigError naming its variable, like every other variable of the start. */
export function loadLauncherConfig(env: Env): LauncherConfig {
  const config = readSettings(LAUNCHER_SETTINGS, env);
  return { ...config, dataDir: resolve(projectRoot(), config.dataDir) };
}
