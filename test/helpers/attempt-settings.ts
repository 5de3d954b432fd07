import { Pool } from 'pg';
import pino from 'pino';
import { PermitQueue } from '../../activities/permit-queue';
import { loadConfig } from '../../libs/config/config';
import { SubscriptionLimits } from '../../libs/contracts/throttle-policy';
import { OAuth2TokensRepository } from '../../libs/db/oauth2-tokens.repository';
import { WorkerMetrics } from '../../libs/observability/metrics';
import { OAuth2Tokens } from '../../libs/outbound/oauth2-tokens';
import { WebhookSender } from '../../libs/outbound/webhook-sender';
import { SecretBox } from '../../libs/secrets/secret-box';
import { testMasterKeys } from './database';

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

/** The OAuth2 tokens of the attempts a test runs through `sender`, shared in the suite's Postgres. */
export function testTokens(sender: WebhookSender, pool: Pool): OAuth2Tokens {
  return new OAuth2Tokens(sender, new OAuth2TokensRepository(pool, SecretBox.parse(testMasterKeys())));
}
