import pino from 'pino';
import { PermitQueue } from '../../activities/permit-queue';
import { loadConfig } from '../../libs/config/config';
import { SubscriptionLimits } from '../../libs/contracts/throttle-policy';
import { WorkerMetrics } from '../../libs/observability/metrics';

/**
 * What the attempt activity's factory takes beyond its repositories and sender, for tests that call activities
 * themselves: fresh metrics, a quiet log, the configured default limits (or these), a permit queue of its own, no outbox relay to wake.
 */
export function testAttemptSettings(defaultLimits: SubscriptionLimits = loadConfig({}).subscriptionLimits) {
  return {
    metrics: new WorkerMetrics(),
    log: pino({ level: 'silent' }),
    defaultLimits,
    permits: new PermitQueue(2_000),
    permitReleased: () => undefined,
  };
}
