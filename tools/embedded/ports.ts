import { readPort } from '../../libs/config/config';

export interface EmbeddedPorts {
  postgresPort: number;
  temporalPort: number;
  temporalUiPort: number;
}

/**
 * Where `npm start`'s embedded Postgres and Temporal dev server listen (README, "Configuration"). A value that is not a
 * port throws a ConfigError naming its variable, like every other variable of the start.
 */
export function embeddedPorts(env: Record<string, string | undefined>): EmbeddedPorts {
  return {
    postgresPort: readPort(env, 'EMBEDDED_POSTGRES_PORT', 54329, 1),
    temporalPort: readPort(env, 'EMBEDDED_TEMPORAL_PORT', 7233, 1),
    temporalUiPort: readPort(env, 'TEMPORAL_UI_PORT', 8233, 1),
  };
}
