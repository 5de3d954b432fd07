import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EndedDeliveryStatus } from '../contracts/delivery-status';
import type { AttemptStatusClass } from '../outbound/attempt-status-class';

/**
 * The product's Prometheus metrics. Labels are bounded on purpose: event type (the catalogue), outcome, status
 * class, reason, error code; never a tenant, subscription or delivery id, whose count grows with the business.
 * Each process (and each in-process test stack) has a registry of its own, so an endpoint shows what its process did.
 */

/** Receivers answer in milliseconds to seconds; the attempt timeout caps them at 10 s by default. */
const ATTEMPT_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Publish -> first attempt: milliseconds with the worker idle, up to minutes behind a backlog. */
const LAG_SECONDS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
/** A publish is one SQL statement. */
const PUBLISH_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

function registryWithProcessMetrics(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

export type PublishTransport = 'rest' | 'grpc';

/** The api's metrics: publishes, and gauges of what waits in Postgres (read in the background, not per scrape). */
export class ApiMetrics {
  readonly registry = registryWithProcessMetrics();
  readonly eventsPublished = new Counter({
    name: 'webhook_events_published_total',
    help: 'Publish requests by outcome: accepted (new event), replayed (same event_id again), rejected (error_code says why)',
    labelNames: ['transport', 'outcome', 'error_code'] as const,
    registers: [this.registry],
  });
  readonly publishDuration = new Histogram({
    name: 'webhook_publish_duration_seconds',
    help: 'Time to answer a publish request, accepted or not (over REST from the arrival of the request, over gRPC from its handler)',
    labelNames: ['transport'] as const,
    buckets: PUBLISH_SECONDS,
    registers: [this.registry],
  });
  readonly outboxBacklog = new Gauge({
    name: 'webhook_outbox_backlog',
    help: 'Deliveries committed whose workflow has not been started yet',
    registers: [this.registry],
  });
  readonly outboxOldestAge = new Gauge({
    name: 'webhook_outbox_oldest_age_seconds',
    help: 'Age of the oldest delivery waiting for its workflow start (0 when none waits)',
    registers: [this.registry],
  });
  readonly deadLettersWaiting = new Gauge({
    name: 'webhook_dead_letters_waiting',
    help: 'Dead-lettered deliveries not redriven (nor purged) yet',
    registers: [this.registry],
  });
  readonly subscriptionsDisabled = new Gauge({
    name: 'webhook_subscriptions_disabled',
    help: 'Disabled subscriptions by who disabled them: the receiver (410 Gone), failing for too long, or an operator',
    labelNames: ['reason_class'] as const,
    registers: [this.registry],
  });

  readonly gaugesRefreshes = new Counter({
    name: 'webhook_gauges_refreshes_total',
    help: 'Background reads of the database gauges by outcome (ok, failed); a scrape reads the last values from memory',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  /** One answered publish: `errorCode` null when it was accepted (or replayed). */
  published(
    transport: PublishTransport,
    outcome: 'accepted' | 'replayed' | 'rejected',
    errorCode: string | null,
    durationMs: number | undefined,
  ): void {
    this.eventsPublished.inc({ transport, outcome, error_code: errorCode ?? '' });
    if (durationMs !== undefined) this.publishDuration.observe({ transport }, durationMs / 1000);
  }

  databaseGauges(gauges: DatabaseGauges): void {
    this.outboxBacklog.set(gauges.outboxBacklog);
    this.outboxOldestAge.set(gauges.outboxOldestAgeSeconds);
    this.deadLettersWaiting.set(gauges.deadLettersWaiting);
    for (const [reasonClass, count] of Object.entries(gauges.subscriptionsDisabled))
      this.subscriptionsDisabled.set({ reason_class: reasonClass }, count);
  }
}

/** What the api's gauges read from Postgres at each refresh. */
export interface DatabaseGauges {
  outboxBacklog: number;
  outboxOldestAgeSeconds: number;
  deadLettersWaiting: number;
  subscriptionsDisabled: Record<'receiver_gone' | 'failing' | 'operator', number>;
}

/** The worker's metrics: attempts, endings, the outbox relay's starts. */
export class WorkerMetrics {
  readonly registry = registryWithProcessMetrics();
  readonly attempts = new Counter({
    name: 'webhook_attempts_total',
    help: 'Delivery attempts by event type, outcome (delivered, failed) and status class of the answer or of its absence',
    labelNames: ['event_type', 'outcome', 'status_class'] as const,
    registers: [this.registry],
  });
  readonly attemptsThrottled = new Counter({
    name: 'webhook_attempts_throttled_total',
    help: "Attempts held back by their subscription's max_in_flight or max_per_second (nothing sent; the delivery waits and tries again)",
    labelNames: ['event_type'] as const,
    registers: [this.registry],
  });
  readonly attemptDuration = new Histogram({
    name: 'webhook_attempt_duration_seconds',
    help: 'Duration of an attempt: connect, send and the whole response',
    labelNames: ['status_class'] as const,
    buckets: ATTEMPT_SECONDS,
    registers: [this.registry],
  });
  readonly deliveriesEnded = new Counter({
    name: 'webhook_deliveries_ended_total',
    help: 'Deliveries that reached an end: delivered, dead_lettered (reason: exhausted, expired, subscription_disabled, …) or cancelled',
    labelNames: ['status', 'reason'] as const,
    registers: [this.registry],
  });
  readonly firstAttemptLatency = new Histogram({
    name: 'webhook_first_attempt_latency_seconds',
    help: "From the publish's commit to the start of the delivery's first attempt",
    buckets: LAG_SECONDS,
    registers: [this.registry],
  });
  readonly outboxStarts = new Counter({
    name: 'webhook_outbox_starts_total',
    help: 'Workflow starts by the outbox relay: eager (the first task came back with the start), normal, or failed (retried by a later pass)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  attempted(eventType: string, delivered: boolean, statusClass: AttemptStatusClass, durationMs: number): void {
    this.attempts.inc({
      event_type: eventType,
      outcome: delivered ? 'delivered' : 'failed',
      status_class: statusClass,
    });
    this.attemptDuration.observe({ status_class: statusClass }, durationMs / 1000);
  }

  ended(status: EndedDeliveryStatus, reason: string | null): void {
    this.deliveriesEnded.inc({ status, reason: reason === null ? '' : boundedReason(reason) });
  }
}

/** Failure reasons as labels: a cancellation's free-text reason (`cancelled: …`) is cut to its kind. */
function boundedReason(reason: string): string {
  const kind = reason.split(':')[0];
  return /^[a-z_]{1,40}$/.test(kind) ? kind : 'other';
}
