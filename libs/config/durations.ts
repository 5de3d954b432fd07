import ms from 'ms';

const DURATION = /^\d+(\.\d+)?(ms|s|m|h|d)$/;

/** Parses `10s`, `1m`, `2h`, `500ms`; a unit is required so that `10` is never silently 10 ms. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (!DURATION.test(trimmed)) return undefined;
  return ms(trimmed);
}

const UNITS: [string, number][] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
];

/** Writes milliseconds as parseDuration reads them, in the largest whole unit: `30d`, `90m`, `0s`, `1500ms`. */
export function formatDuration(milliseconds: number): string {
  if (milliseconds === 0) return '0s';
  const unit = UNITS.find(([, size]) => milliseconds % size === 0);
  return unit ? `${milliseconds / unit[1]}${unit[0]}` : `${milliseconds}ms`;
}
