import { EventType } from './catalogue';
import { at, count, exampleSubscription, id, object, subscription, text } from './event-schema-parts';

type OperationalEventType = Extract<EventType, `webhook.${string}`>;

/** The operational events' catalogue entries: what the service itself emits about a tenant's subscriptions. */
export const OPERATIONAL_EVENT_DEFINITIONS: Record<
  OperationalEventType,
  { description: string; dataSchema: Record<string, unknown>; example: Record<string, unknown> }
> = {
  'webhook.subscription.disabled': {
    description:
      'Operational: a subscription of the tenant was disabled, by its receiver answering 410 Gone (gone), ' +
      'by failing every attempt for SUBSCRIPTION_FAILURE_DISABLE_AFTER (failing), or by an operator (operator); ' +
      'its waiting deliveries were dead-lettered.',
    dataSchema: object(['subscription', 'reason', 'message'], {
      subscription,
      reason: { type: 'string', enum: ['gone', 'failing', 'operator'] },
      message: text,
      failing_since: at,
      waiting_deliveries_stopped: count,
    }),
    example: {
      subscription: exampleSubscription,
      reason: 'failing',
      message: 'every attempt has failed since 2026-05-12T08:00:00.000Z',
      failing_since: '2026-05-12T08:00:00.000Z',
      waiting_deliveries_stopped: 12,
    },
  },
  'webhook.delivery.dead_lettered': {
    description:
      'Operational: a delivery of the tenant ran out of attempts (exhausted) or of time (expired) and went to the dead-letter queue.',
    dataSchema: object(['delivery', 'reason'], {
      delivery: object(['id', 'event_id', 'subscription_id', 'attempts'], {
        id,
        event_id: id,
        event_type: id,
        subscription_id: id,
        attempts: count,
      }),
      reason: { type: 'string', enum: ['exhausted', 'expired'] },
    }),
    example: {
      delivery: {
        id: 'whdlv_01HZX3Q5M8Y2K7N4P6R9T0V1W6',
        event_id: 'evt_01HZX3Q5M8Y2K7N4P6R9T0V1W2',
        event_type: 'user.signed_up',
        subscription_id: exampleSubscription.id,
        attempts: 6,
      },
      reason: 'exhausted',
    },
  },
  'webhook.subscription.recovered': {
    description:
      'Operational: a subscription of the tenant that was failing has delivered again (its first success after failed attempts).',
    dataSchema: object(['subscription', 'failing_since'], { subscription, failing_since: at, recovered_at: at }),
    example: {
      subscription: exampleSubscription,
      failing_since: '2026-05-17T07:40:00.000Z',
      recovered_at: '2026-05-17T08:00:00.000Z',
    },
  },
  'webhook.certificate.expiring': {
    description:
      "Operational: a subscription's client certificate (mutual TLS) expires within 14 days; " +
      'replace it (PATCH tls_client) before its receiver starts refusing every attempt.',
    dataSchema: object(['subscription', 'certificate'], {
      subscription,
      certificate: object(['subject', 'issuer', 'expires_at'], {
        subject: { type: 'string' },
        issuer: { type: 'string' },
        expires_at: at,
      }),
    }),
    example: {
      subscription: exampleSubscription,
      certificate: {
        subject: 'O=Acme, CN=intelliauth-webhooks',
        issuer: 'O=Acme, CN=Acme Client CA',
        expires_at: '2026-05-31T00:00:00.000Z',
      },
    },
  },
  'webhook.subscription.failing': {
    description:
      'Operational: a subscription of the tenant has been failing long enough to be warned (after its first dead letter, ' +
      'or SUBSCRIPTION_FAILING_WARN_AFTER of failed attempts), once per run of failures; disables_at says when it will be ' +
      'disabled if every attempt keeps failing (null: never).',
    dataSchema: object(['subscription', 'failing_since', 'reason', 'disables_at'], {
      subscription,
      failing_since: at,
      reason: { type: 'string', enum: ['dead_lettered', 'failing'] },
      disables_at: { type: ['string', 'null'], format: 'date-time' },
      disables_in_seconds: { type: ['integer', 'null'], minimum: 0 },
    }),
    example: {
      subscription: exampleSubscription,
      failing_since: '2026-05-17T07:00:00.000Z',
      reason: 'failing',
      disables_at: '2026-05-22T07:00:00.000Z',
      disables_in_seconds: 428_400,
    },
  },
};
