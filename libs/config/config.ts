import { APP_SETTINGS } from './app-settings';
import { ConfigError, Env } from './readers';
import { Loaded, readSettings } from './setting';

/** The api's and the worker's configuration, one field (or group) per entry of APP_SETTINGS. */
export type AppConfig = Loaded<typeof APP_SETTINGS>;
export type LogLevel = AppConfig['logLevel'];
export type ClientLimits = AppConfig['clientLimits'];
export type DatabaseLimits = AppConfig['database'];

/** Reads APP_SETTINGS from `env`; a value that does not parse throws a ConfigError naming its variable. */
export function loadConfig(env: Env = process.env): AppConfig {
  const config = readSettings(APP_SETTINGS, env);
  const { attemptTimeoutMs } = config.delivery;
  // A test send waits for the receiver up to the attempt timeout with nothing on the wire.
  if (config.clientLimits.connectionTimeoutMs <= attemptTimeoutMs)
    throw new ConfigError(
      'HTTP_CONNECTION_TIMEOUT',
      `must be longer than WEBHOOK_ATTEMPT_TIMEOUT (${attemptTimeoutMs} ms), which a test send may wait for`,
    );
  return config;
}

/** Processes that cannot run without these fail at start with the variable named. */
export function requireSetting<T>(value: T | undefined, variable: string): T {
  if (value === undefined || (Array.isArray(value) && value.length === 0)) {
    throw new ConfigError(variable, 'is required (npm start sets it for the embedded default)');
  }
  return value;
}
