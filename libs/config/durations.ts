import ms from 'ms';

const DURATION = /^\d+(\.\d+)?(ms|s|m|h|d)$/;

/** Parses `10s`, `1m`, `2h`, `500ms`; a unit is required so that `10` is never silently 10 ms. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (!DURATION.test(trimmed)) return undefined;
  return ms(trimmed);
}
