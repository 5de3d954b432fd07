import { ApplicationFailure, asyncLocalStorage } from '@temporalio/activity';
import type { Logger } from 'pino';
import { isOperationalEventType } from '../libs/contracts/catalogue';
import { failingTooLong } from '../libs/contracts/operational-event-builders';
import { SubscriptionLimits, throttleBackoffMs } from '../libs/contracts/throttle-policy';
import { AttemptsRepository } from '../libs/db/attempts.repository';
import { isTransientDatabaseError } from '../libs/db/pool';
import { FAILING_DISABLE_REASON, GONE_DISABLE_REASON } from '../libs/db/rows';
import { WorkerMetrics } from '../libs/observability/metrics';
import type { OperationalEvents } from '../libs/operational/operational-event-emitter';
import { attemptStatusClass } from '../libs/outbound/attempt-status-class';
import type { SubscriptionDisabler } from '../libs/temporal/subscription-disabler';
import { printableText } from '../libs/outbound/response-excerpt';
import type { ListenHandoff } from '../libs/outbound/listen-handoff';
import { Outbound, sendSignedDelivery } from '../libs/outbound/signed-delivery';
import { recordSentAttempt } from './attempt-record';
import { PermitQueue, PermitTurn } from './permit-queue';
import { SentAttempt, UnrecordedAttempts } from './unrecorded-attempts';

export interface AttemptInput {
  deliveryId: string;
  attempt: number;
  attemptTimeoutMs: number;
  deadline: string;
  /** Absent in runs started before the worker queued attempts for permits: they go straight to Postgres. */
  subscriptionId?: string;
  /** How many times in a row this attempt found no permit free (0 or absent: the first try). */
  throttledTimes?: number;
}

export type StopReason = 'subscription_disabled' | 'subscription_deleted' | 'expired';

export type AttemptOutcome =
  | { kind: 'delivered'; statusCode: number | null; error: null }
  | { kind: 'failed'; statusCode: number | null; error: string | null; retryAfterMs?: number | null }
  | { kind: 'stopped'; reason: StopReason }
  /** The subscription's limits had no permit free: nothing was sent or recorded as an attempt; look again after retryInMs. */
  | { kind: 'throttled'; retryInMs: number };

/** The receiver's own word that the endpoint is gone for good (Standard Webhooks): disable the subscription. */
export const GONE = 410;

export interface RecordStateInput {
  deliveryId: string;
  status: 'retry_scheduled' | 'dead_lettered' | 'cancelled';
  nextAttemptAt: string | null;
  failureReason: string | null;
}

/** Outbound: the sender, and the OAuth2 tokens of subscriptions whose receivers ask for one. */
export interface DeliveryActivityDependencies extends Outbound {
  attempts: AttemptsRepository;
  /** Where a listen session's attempts go instead of out over HTTP. */
  listen: Pick<ListenHandoff, 'to'>;
  disabler: Pick<SubscriptionDisabler, 'disable'>;
  operational: Pick<OperationalEvents, 'deliveryDeadLettered' | 'subscriptionRecovered' | 'subscriptionFailed'>;
  /** SUBSCRIPTION_FAILURE_DISABLE_AFTER: a subscription failing every attempt this long is disabled; 0 never. */
  failureDisableAfterMs: number;
  metrics: WorkerMetrics;
  /** One line per attempt, with the ids an operator searches by. */
  log: Pick<Logger, 'info' | 'warn'>;
  /** The limits of subscriptions that set none (SUBSCRIPTION_MAX_IN_FLIGHT, SUBSCRIPTION_MAX_PER_SECOND). */
  defaultLimits: SubscriptionLimits;
  /** This worker's queue in front of the subscriptions' in-flight permits. */
  permits: PermitQueue;
  /** An attempt is over and gave back whatever permit it held: deliveries waiting in the outbox may have room now. */
  permitReleased: () => void;
}

/** Beyond the attempt's own budget, how long a permit outlives a worker that died holding it. */
const PERMIT_LEASE_MARGIN_MS = 5_000;

/**
 * Tries of one attempt that may end in an error other than Postgres being out of reach (a bug, a value refused)
 * before it counts as a failed attempt; with the workflow's infrastructure backoff, about two minutes.
 */
export const ATTEMPT_TRIES = 8;

/** Which try of this activity is running: 1, then one more per infrastructure retry (1 outside a worker). */
const activityTry = () => asyncLocalStorage.getStore()?.info.attempt ?? 1;

export function createDeliveryActivities({
  attempts,
  sender,
  tokens,
  listen,
  disabler,
  operational,
  failureDisableAfterMs,
  metrics,
  log,
  defaultLimits,
  permits,
  permitReleased,
}: DeliveryActivityDependencies) {
  const unrecorded = new UnrecordedAttempts();
  const outbound = { sender, tokens };

  /**
   * An attempt that threw. Postgres out of reach is retried by the workflow's infrastructure retry until it is back
   * (and nothing is sent again: see `unrecorded`); any other error is retried ATTEMPT_TRIES times, then counts as
   * the attempt's failure, so the delivery goes on along its schedule to an ending an operator can see and redrive.
   */
  function givenUp(input: AttemptInput, error: unknown): AttemptOutcome {
    if (error instanceof ApplicationFailure || isTransientDatabaseError(error) || activityTry() < ATTEMPT_TRIES)
      throw error;
    const sent = unrecorded.get(input);
    unrecorded.forget(input);
    const message = printableText(error instanceof Error ? error.message : String(error)).slice(0, 300);
    log.warn(
      { delivery_id: input.deliveryId, attempt: input.attempt, error: message, sent: sent !== undefined },
      'attempt given up after repeated errors',
    );
    if (sent?.succeeded) return { kind: 'delivered', statusCode: sent.statusCode, error: null };
    return {
      kind: 'failed',
      statusCode: sent?.statusCode ?? null,
      error: `attempt could not be completed: ${message}`,
      retryAfterMs: null,
    };
  }

  async function attempt(input: AttemptInput, turn: PermitTurn | undefined): Promise<AttemptOutcome> {
    const context = await attempts.attemptContext(input.deliveryId, {
      defaults: defaultLimits,
      leaseMs: input.attemptTimeoutMs + PERMIT_LEASE_MARGIN_MS,
      backoffMs:
        turn?.backoffMs(input.throttledTimes ?? 0, Math.random()) ??
        throttleBackoffMs(input.throttledTimes ?? 0, Math.random()),
    });
    if (context === undefined) {
      throw ApplicationFailure.nonRetryable(`delivery ${input.deliveryId} does not exist`, 'DeliveryNotFound');
    }
    turn?.answered(context.inFlightLimit, context.holdsPermit, context.throttledForMs);
    if (context.throttledForMs !== null) {
      metrics.attemptsThrottled.inc({ event_type: context.event.event_type });
      return { kind: 'throttled', retryInMs: context.throttledForMs };
    }
    // A previous try of this activity may have delivered and recorded it before the worker died.
    if (context.delivery.status === 'delivered') {
      unrecorded.forget(input);
      return { kind: 'delivered', statusCode: null, error: null };
    }
    const { subscription } = context;
    if (subscription === undefined) return { kind: 'stopped', reason: 'subscription_deleted' };
    let sent: SentAttempt | undefined = unrecorded.get(input);
    if (sent === undefined) {
      if (subscription.deleted) return { kind: 'stopped', reason: 'subscription_deleted' };
      if (!subscription.enabled) return { kind: 'stopped', reason: 'subscription_disabled' };
      if (Date.now() > Date.parse(input.deadline)) {
        await attempts.releasePermit(input.deliveryId);
        return { kind: 'stopped', reason: 'expired' };
      }
      // A listen session's attempt is the same signed request, handed to its tool rather than POSTed.
      const through = subscription.kind === 'listen' ? { sender: listen.to(subscription.id), tokens } : outbound;
      sent = await sendSignedDelivery(through, subscription, context, input.attempt, input.attemptTimeoutMs);
    }
    // Deliveries of operational events stay out of failure tracking: their failures never emit another event.
    const tracksFailures = !isOperationalEventType(context.event.event_type);
    let failingSince: Date | null;
    try {
      failingSince = await recordSentAttempt(attempts, input, sent, tracksFailures);
    } catch (error) {
      unrecorded.remember(input, sent);
      throw error;
    }
    unrecorded.forget(input);
    const statusClass = attemptStatusClass(sent.statusCode, sent.networkFailure);
    metrics.attempted(context.event.event_type, sent.succeeded, statusClass, sent.durationMs);
    log.info(
      {
        delivery_id: input.deliveryId,
        event_id: context.event.event_id,
        event_type: context.event.event_type,
        tenant_id: subscription.tenantId,
        attempt: input.attempt,
        outcome: sent.succeeded ? 'delivered' : 'failed',
        status_code: sent.statusCode,
        status_class: statusClass,
        duration_ms: sent.durationMs,
        error: sent.error,
      },
      'attempt',
    );
    if (input.attempt === 1)
      metrics.firstAttemptLatency.observe(
        Math.max(0, sent.startedAt.getTime() - context.delivery.created_at.getTime()) / 1000,
      );
    const cause = { deliveryId: input.deliveryId, attempt: input.attempt, failingSince };
    if (sent.succeeded) {
      metrics.ended('delivered', null);
      if (tracksFailures && failingSince !== null) await operational.subscriptionRecovered(subscription, failingSince);
      return { kind: 'delivered', statusCode: sent.statusCode, error: null };
    }
    if (sent.statusCode === GONE) {
      await disabler.disable(subscription.id, undefined, GONE_DISABLE_REASON, 'receiver', {
        reason: 'gone',
        ...cause,
      });
      return { kind: 'stopped', reason: 'subscription_disabled' };
    }
    if (tracksFailures && failingTooLong(failingSince, Date.now(), failureDisableAfterMs)) {
      await disabler.disable(subscription.id, undefined, FAILING_DISABLE_REASON, 'system', {
        reason: 'failing',
        ...cause,
      });
      return { kind: 'stopped', reason: 'subscription_disabled' };
    }
    if (tracksFailures) await operational.subscriptionFailed(subscription.id, failingSince, log);
    return { kind: 'failed', statusCode: sent.statusCode, error: sent.error, retryAfterMs: sent.retryAfterMs };
  }

  return {
    /** One signed POST to the subscription's current URL, recorded in Postgres; the outcome is data, never a throw. */
    async attemptDelivery(input: AttemptInput): Promise<AttemptOutcome> {
      try {
        if (input.subscriptionId === undefined) return await attempt(input, undefined);
        const turn = await permits.enter(input.subscriptionId, input.deliveryId);
        try {
          return await attempt(input, turn);
        } finally {
          turn.leave();
          permitReleased();
        }
      } catch (error) {
        return givenUp(input, error);
      }
    },

    async recordDeliveryState(input: RecordStateInput): Promise<void> {
      const ended = await attempts.recordState(input.deliveryId, {
        status: input.status,
        nextAttemptAt: input.nextAttemptAt === null ? null : new Date(input.nextAttemptAt),
        failureReason: input.failureReason,
      });
      if (input.status !== 'retry_scheduled') metrics.ended(input.status, input.failureReason);
      if (ended !== undefined && input.status === 'dead_lettered')
        await operational.deliveryDeadLettered(ended, input.failureReason ?? '');
    },
  };
}

export type DeliveryActivities = ReturnType<typeof createDeliveryActivities>;
