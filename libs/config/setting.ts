import { Env, Reader } from './readers';

/** Who reads a variable: the api, the worker, both, or the embedded launcher (`npm start`, tools/embedded). */
export type Audience = 'api' | 'worker' | 'both' | 'launcher';

/** One environment variable: its name, who reads it, its default, how it is read, and what it does. */
export interface Setting<T> {
  readonly variable: string;
  readonly audience: Audience;
  /** The default as docs/configuration.md shows it: the value as one would set it, or what leaving it unset means. */
  readonly defaultText: string;
  readonly doc: string;
  read(env: Env): T;
}

function isUnset(raw: string | undefined, reader: Reader<unknown>): raw is undefined {
  return raw === undefined || (reader.blankIsUnset ? raw.trim() : raw) === '';
}

/** A variable that falls back to `fallback` when unset. */
export function setting<T>(
  variable: string,
  audience: Audience,
  reader: Reader<T>,
  fallback: T,
  doc: string,
): Setting<T> {
  const shown = reader.show(fallback);
  return {
    variable,
    audience,
    defaultText: shown === '' ? 'empty' : `\`${shown}\``,
    doc,
    read: (env) => {
      const raw = env[variable];
      return isUnset(raw, reader) ? fallback : reader.parse(raw, variable);
    },
  };
}

/** A variable with no default value: unset is undefined, and `unset` says what that means. */
export function optional<T>(
  variable: string,
  audience: Audience,
  reader: Reader<T>,
  unset: string,
  doc: string,
): Setting<T | undefined> {
  return {
    variable,
    audience,
    defaultText: unset,
    doc,
    read: (env) => {
      const raw = env[variable];
      return isUnset(raw, reader) ? undefined : reader.parse(raw, variable);
    },
  };
}

/** Settings grouped the way the loaded configuration is; a number is a fixed value that no variable sets. */
export interface SettingTable {
  readonly [key: string]: Setting<unknown> | SettingTable | number;
}

/** What reading a table gives: each setting replaced by its value. */
export type Loaded<T> =
  T extends Setting<infer V> ? V : T extends number ? number : { -readonly [K in keyof T]: Loaded<T[K]> };

const isSetting = (entry: SettingTable[string]): entry is Setting<unknown> =>
  typeof entry === 'object' && 'variable' in entry;

/** Reads every variable of `table` from `env`; the first that does not parse throws its ConfigError. */
export function readSettings<T extends SettingTable>(table: T, env: Env): Loaded<T> {
  const read = (entries: SettingTable): Record<string, unknown> =>
    Object.fromEntries(
      Object.entries(entries).map(([key, entry]) => [
        key,
        typeof entry === 'number' ? entry : isSetting(entry) ? entry.read(env) : read(entry),
      ]),
    );
  return read(table) as Loaded<T>;
}

/** Every setting of `table`, in its order. */
export function listSettings(table: SettingTable): Setting<unknown>[] {
  return Object.values(table).flatMap((entry) =>
    typeof entry === 'number' ? [] : isSetting(entry) ? [entry] : listSettings(entry),
  );
}
