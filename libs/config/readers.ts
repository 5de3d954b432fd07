import { TENANT_ID_PATTERN } from '../contracts/ids';
import { SecretBox } from '../secrets/secret-box';
import { formatDuration, parseDuration } from './durations';

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

export type Env = Record<string, string | undefined>;

/**
 * How the text of one variable becomes a value. `parse` gets the text of a variable that is set, and throws a
 * ConfigError naming the variable when the text does not parse; `show` writes a value back as one would set it
 * (docs/configuration.md shows each default that way).
 */
export interface Reader<T> {
  parse(text: string, variable: string): T;
  show(value: T): string;
  /** Whether spaces alone count as unset (lists, flags); otherwise only an empty variable does. */
  blankIsUnset?: boolean;
}

/** A list's form: comma-separated, and spaces alone are no entries at all. */
export const COMMA_SEPARATED = { show: (entries: string[]) => entries.join(','), blankIsUnset: true };

/** Any text, as given. */
export const text = (): Reader<string> => ({ parse: String, show: String });

/** A TCP port; `lowest` is 1 where 0 (a free port, or off) means nothing. */
export function port(lowest: 0 | 1 = 0): Reader<number> {
  return {
    parse(raw, variable) {
      const value = Number(raw);
      if (!Number.isInteger(value) || value < lowest || value > 65535)
        throw new ConfigError(variable, `"${raw}" is not a TCP port (${lowest}-65535)`);
      return value;
    },
    show: String,
  };
}

/** A duration with a unit (10s, 5m, 24h), in milliseconds; `positive` refuses 0, `atLeast` anything shorter. */
export function duration(bound: { positive?: true; atLeast?: number } = {}): Reader<number> {
  return {
    parse(raw, variable) {
      const value = parseDuration(raw);
      if (value === undefined) throw new ConfigError(variable, `"${raw}" is not a duration such as 10s, 5m or 24h`);
      if (bound.positive && value <= 0) throw new ConfigError(variable, 'must be above 0');
      if (bound.atLeast !== undefined && value < bound.atLeast)
        throw new ConfigError(variable, `must be at least ${formatDuration(bound.atLeast)}`);
      return value;
    },
    show: formatDuration,
  };
}

/** A duration where 0 (any unit, or a bare 0) turns something off: `zero` says what, in the error message. */
export function durationOrOff(zero: string): Reader<number> {
  return {
    parse(raw, variable) {
      if (raw.trim() === '0') return 0;
      const value = parseDuration(raw);
      if (value === undefined)
        throw new ConfigError(variable, `"${raw}" is not a duration such as 30d, 12h or 90m (0 ${zero})`);
      return value;
    },
    show: (value) => (value === 0 ? '0' : formatDuration(value)),
  };
}

/** Comma-separated durations, such as a retry schedule. */
export function durationList(): Reader<number[]> {
  return {
    parse: (raw, variable) =>
      raw.split(',').map((entry, index) => {
        const value = parseDuration(entry);
        if (value === undefined)
          throw new ConfigError(
            variable,
            `entry ${index + 1} "${entry.trim()}" is not a duration such as 0s, 1m or 12h`,
          );
        return value;
      }),
    show: (values) => values.map(formatDuration).join(','),
  };
}

/** A whole number, 0 turning a limit off; `maximum` is the largest limit the product enforces. */
export function count(maximum?: number): Reader<number> {
  return {
    parse(raw, variable) {
      if (!/^\d{1,9}$/.test(raw.trim()))
        throw new ConfigError(variable, `"${raw}" is not a whole number (0 turns the limit off)`);
      const value = Number(raw.trim());
      if (maximum !== undefined && value > maximum)
        throw new ConfigError(variable, `${value} is above the largest limit, ${maximum} (0 turns the limit off)`);
      return value;
    },
    show: String,
  };
}

/** A number of slots of the worker, at least `minimum`. */
export function slots(minimum: number): Reader<number> {
  return {
    parse(raw, variable) {
      if (!/^\d{1,6}$/.test(raw.trim()) || Number(raw.trim()) < minimum)
        throw new ConfigError(variable, `"${raw}" is not a whole number of at least ${minimum}`);
      return Number(raw.trim());
    },
    show: String,
  };
}

export function oneOf<T extends string>(choices: readonly T[]): Reader<T> {
  return {
    parse(raw, variable) {
      if (!(choices as readonly string[]).includes(raw))
        throw new ConfigError(variable, `"${raw}" is not one of ${choices.join(', ')}`);
      return raw as T;
    },
    show: String,
  };
}

export function flag(): Reader<boolean> {
  return {
    parse(raw, variable) {
      const value = raw.trim().toLowerCase();
      if (value === 'true') return true;
      if (value === 'false') return false;
      throw new ConfigError(variable, `"${raw}" is not true or false`);
    },
    show: String,
    blankIsUnset: true,
  };
}

export function tenantId(): Reader<string> {
  return {
    parse(raw, variable) {
      if (!TENANT_ID_PATTERN.test(raw))
        throw new ConfigError(variable, `"${raw}" is not a tenant id (1-128 of A-Z a-z 0-9 _ . : -)`);
      return raw;
    },
    show: String,
  };
}

/** Comma-separated keys, each at least `minLength` characters. */
export function keys(minLength: number): Reader<string[]> {
  return {
    parse(raw, variable) {
      const entries = raw
        .split(',')
        .map((key) => key.trim())
        .filter((key) => key.length > 0);
      if (entries.some((key) => key.length < minLength))
        throw new ConfigError(variable, `every key must be at least ${minLength} characters`);
      return entries;
    },
    ...COMMA_SEPARATED,
  };
}

/** The keyring that seals signing secrets at rest, validated here and opened by SecretBox. */
export function masterKeys(): Reader<string> {
  return {
    parse(raw, variable) {
      try {
        SecretBox.parse(raw);
      } catch (error) {
        // The message names the entry's shape, never its key material.
        throw new ConfigError(
          variable,
          `${(error as Error).message}; expected id:base64-of-32-bytes[,id:…], newest first`,
        );
      }
      return raw;
    },
    show: String,
  };
}
