import pino from 'pino';
import { WorkerMetrics } from '../../libs/observability/metrics';

/** The metrics and log an activity factory takes, for tests that call activities themselves: fresh, and quiet. */
export function testObservers() {
  return { metrics: new WorkerMetrics(), log: pino({ level: 'silent' }) };
}
