import type { Schemas } from '../api';
import { Table } from '../ui';

const WIDTH = 480;
const HEIGHT = 120;
const AXIS = 16;

/**
 * Attempts per hour over the last 24 h, stacked by outcome: an inline SVG (no chart library), with the numbers
 * as a table for screen readers and keyboard users.
 */
export function AttemptsChart({ stats }: { stats: Schemas['AttemptStats'] }) {
  const hours = stats.hours;
  const peak = Math.max(1, ...hours.map((h) => h.succeeded + h.failed));
  const slot = WIDTH / hours.length;
  const scale = (n: number) => (n / peak) * (HEIGHT - AXIS);
  const total = hours.reduce((sum, h) => ({ succeeded: sum.succeeded + h.succeeded, failed: sum.failed + h.failed }), {
    succeeded: 0,
    failed: 0,
  });
  const label = (h: Schemas['AttemptStats']['hours'][number]) =>
    `${new Date(h.hour).getHours().toString().padStart(2, '0')}:00`;
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-labelledby="chart-caption" preserveAspectRatio="none">
        {hours.map((h, i) => {
          const ok = scale(h.succeeded);
          const failed = scale(h.failed);
          return (
            <g key={h.hour}>
              <title>{`${label(h)}: ${h.succeeded} succeeded, ${h.failed} failed`}</title>
              <rect class="bar-ok" x={i * slot + 1} width={slot - 2} y={HEIGHT - AXIS - ok} height={ok} />
              <rect
                class="bar-failed"
                x={i * slot + 1}
                width={slot - 2}
                y={HEIGHT - AXIS - ok - failed}
                height={failed}
              />
              {i % 6 === 0 && (
                <text class="axis" x={i * slot + 1} y={HEIGHT - 3}>
                  {label(h)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption id="chart-caption">
        Attempts per hour, last 24 h: <span class="legend-ok">{total.succeeded} succeeded</span>,{' '}
        <span class="legend-failed">{total.failed} failed</span>
      </figcaption>
      <details>
        <summary>Hour by hour</summary>
        <Table columns={['Hour', 'Succeeded', 'Failed']}>
          {hours.map((h) => (
            <tr key={h.hour}>
              <td>{label(h)}</td>
              <td>{h.succeeded}</td>
              <td>{h.failed}</td>
            </tr>
          ))}
        </Table>
      </details>
    </figure>
  );
}
