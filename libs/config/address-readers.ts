import { isIP } from 'node:net';
import { AllowlistEntryError, parseAllowlist } from '../outbound/address-policy';
import { COMMA_SEPARATED, ConfigError, Reader } from './readers';

/** A URL of one of `protocols`, kept as given; an error never repeats the credentials in it. */
export function url(...protocols: string[]): Reader<string> {
  return {
    parse(raw, variable) {
      let parsed: URL;
      try {
        parsed = new URL(raw);
      } catch {
        throw new ConfigError(variable, `"${raw.replace(/\/\/[^@/]*@/, '//***@')}" is not a URL`);
      }
      if (!protocols.includes(parsed.protocol))
        throw new ConfigError(variable, `expected a ${protocols.join(' or ')} URL`);
      return raw;
    },
    show: String,
  };
}

/** `http://[user:password@]host:port`: an HTTP proxy that opens CONNECT tunnels; an error never shows the password. */
export function egressProxy(): Reader<string> {
  const base = url('http:');
  return {
    parse(raw, variable) {
      const parsed = new URL(base.parse(raw, variable));
      if (parsed.port === '' || (parsed.pathname !== '/' && parsed.pathname !== '') || parsed.search || parsed.hash)
        throw new ConfigError(
          variable,
          'expected http://[user:password@]host:port, with the port and nothing after it',
        );
      return raw;
    },
    show: (value) => value.replace(/\/\/[^@/]*@/, '//***@'),
  };
}

export function hostPort(): Reader<string> {
  return {
    parse(raw, variable) {
      if (!/^[^\s:/]+:\d{1,5}$/.test(raw)) throw new ConfigError(variable, `"${raw}" is not host:port`);
      return raw;
    },
    show: String,
  };
}

/** The SSRF guard's allowlist: CIDRs, addresses and exact hostnames, normalised. */
export function allowlist(): Reader<string[]> {
  return {
    parse(raw, variable) {
      try {
        return parseAllowlist(raw.split(',')).entries;
      } catch (error) {
        if (error instanceof AllowlistEntryError)
          throw new ConfigError(
            variable,
            `${error.message}; expected comma-separated CIDRs (10.0.0.0/8, fd00::/8), addresses or exact hostnames`,
          );
        throw error;
      }
    },
    ...COMMA_SEPARATED,
  };
}

/** CSP frame-ancestors sources: 'self', 'none', or origins (https://console.example.com, https://*.example.com). */
export function frameAncestors(): Reader<string> {
  return {
    parse(raw, variable) {
      const sources = raw.trim().split(/\s+/);
      const bad = sources.find(
        (source) => !/^('self'|'none'|https?:\/\/(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?)$/.test(source),
      );
      if (bad !== undefined)
        throw new ConfigError(
          variable,
          `"${bad}" is not a frame-ancestors source; expected 'self', 'none' or origins such as https://console.example.com, space-separated`,
        );
      return sources.join(' ');
    },
    show: String,
    blankIsUnset: true,
  };
}

/** Fastify's trustProxy forms: none (false), all (true), a hop count, or addresses and CIDRs. */
export type TrustProxy = boolean | number | string[];

/** proxy-addr's names for address ranges, which Fastify's trustProxy takes beside addresses and CIDRs. */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

export function trustProxy(): Reader<TrustProxy> {
  return {
    parse(text, variable) {
      const raw = text.trim();
      if (raw === 'false') return false;
      if (raw === 'true') return true;
      if (/^\d{1,3}$/.test(raw) && Number(raw) >= 1) return Number(raw);
      const entries = raw.split(',').map((entry) => entry.trim());
      const bad = entries.find((entry) => {
        if (PROXY_RANGE_NAMES.includes(entry)) return false;
        const [address, prefix, ...rest] = entry.split('/');
        const family = isIP(address);
        if (family === 0 || rest.length > 0) return true;
        return prefix !== undefined && !(/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
      });
      if (bad !== undefined)
        throw new ConfigError(
          variable,
          `"${bad}" is not a proxy address; expected true, false, a hop count (1, 2…) or comma-separated addresses and CIDRs (10.0.0.0/8, ::1, loopback)`,
        );
      return entries;
    },
    show: (value) => (Array.isArray(value) ? value.join(',') : String(value)),
    blankIsUnset: true,
  };
}
