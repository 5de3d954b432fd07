import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { projectRoot } from '../../libs/config/project-root';

interface ComposeService {
  image?: string;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null>;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
}

export function readComposeFile(path = join(projectRoot(), 'docker-compose.yml')): ComposeFile {
  // merge: the app services share their environment through YAML merge keys (<<: *app-env).
  return parse(readFileSync(path, 'utf8'), { merge: true }) as ComposeFile;
}

/**
 * Compose's variable interpolation for the forms the compose file uses: ${NAME}, ${NAME:-default} (default when
 * unset or empty) and ${NAME:?message} (an error when unset or empty); $$ is a literal $.
 */
export function interpolate(value: string, variables: Record<string, string | undefined>): string {
  return value.replace(/\$\$|\$\{(\w+)(?::([-?])([^}]*))?\}/g, (match, name, operator, operand) => {
    if (match === '$$') return '$';
    const set = variables[name];
    if (set !== undefined && set !== '') return set;
    if (operator === '-') return operand;
    if (operator === '?') throw new Error(`${name}: ${operand}`);
    return '';
  });
}

/** A compose service's command and environment, interpolated with `variables` as `docker compose up` would. */
export function composeService(
  compose: ComposeFile,
  name: string,
  variables: Record<string, string | undefined>,
): { command: string[]; environment: Record<string, string> } {
  const service = compose.services[name];
  if (!service) throw new Error(`docker-compose.yml has no service ${name}`);
  const command = typeof service.command === 'string' ? service.command.split(' ') : (service.command ?? []);
  const environment = Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([key, value]) => [key, interpolate(String(value ?? ''), variables)]),
  );
  return { command, environment };
}
