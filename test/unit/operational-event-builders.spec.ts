import { checkAgainstSchema } from '../../apps/api/src/common/validation';
import { eventTypeDefinition } from '../../libs/contracts/event-data-schemas';
import {
  deadLetteredEvent,
  failingTooLong,
  subscriptionDisabledEvent,
  subscriptionRecoveredEvent,
} from '../../libs/contracts/operational-event-builders';
import { StoredEvent } from '../../libs/contracts/envelope';

const now = new Date('2026-05-17T08:00:00.000Z');
const failingSince = new Date('2026-05-12T08:00:00.000Z');
const disabled = {
  tenantId: 'tnt_acme',
  subscriptionId: 'whsub_1',
  message: 'every attempt has failed since …',
  actor: 'system',
  waitingStopped: 3,
};
const delivery = {
  id: 'whdlv_1',
  event_id: 'evt_1',
  event_type: 'user.signed_up',
  subscription_id: 'whsub_1',
  tenant_id: 'tnt_acme',
  attempt_count: 6,
  redrive_count: 0,
};

function expectValid(event: StoredEvent): void {
  expect(() =>
    checkAgainstSchema(
      eventTypeDefinition(event.event_type).dataSchema,
      event.data,
      'data',
      'invalid_event_data',
      event.event_type,
    ),
  ).not.toThrow();
}

describe('operational events', () => {
  it('says why a subscription was disabled, with an id derived from its run of failures', () => {
    const event = subscriptionDisabledEvent(
      disabled,
      { reason: 'failing', deliveryId: 'whdlv_1', attempt: 4, failingSince },
      now,
    );
    expect(event).toEqual({
      event_id: `evt_wh_disabled_whsub_1_${failingSince.getTime()}`,
      event_type: 'webhook.subscription.disabled',
      occurred_at: now.toISOString(),
      tenant: { id: 'tnt_acme' },
      actor: { kind: 'system' },
      data: {
        subscription: { id: 'whsub_1' },
        reason: 'failing',
        message: disabled.message,
        waiting_deliveries_stopped: 3,
        failing_since: failingSince.toISOString(),
      },
    });
    expectValid(event);
    // Every attempt of the run (an activity retried, or another delivery in flight) names the same event.
    expect(
      subscriptionDisabledEvent(
        disabled,
        { reason: 'failing', deliveryId: 'whdlv_2', attempt: 1, failingSince },
        new Date(),
      ).event_id,
    ).toBe(event.event_id);
    // A 410 to an operational event's delivery, outside failure tracking, names its attempt.
    const gone = subscriptionDisabledEvent(
      disabled,
      { reason: 'gone', deliveryId: 'whdlv_1', attempt: 4, failingSince: null },
      now,
    );
    expect(gone).toMatchObject({ event_id: 'evt_wh_disabled_whdlv_1_4', data: { reason: 'gone' } });
    expect(gone.data).not.toHaveProperty('failing_since');
    expectValid(gone);
  });

  it('names the operator who disabled a subscription, under a fresh id per request', () => {
    const first = subscriptionDisabledEvent({ ...disabled, actor: 'service_key:abcd1234' }, undefined, now);
    expect(first).toMatchObject({
      actor: { kind: 'api_key', id: 'service_key:abcd1234' },
      data: { reason: 'operator' },
    });
    expect(first.data).not.toHaveProperty('failing_since');
    expectValid(first);
    expect(subscriptionDisabledEvent(disabled, undefined, now).event_id).not.toBe(first.event_id);
  });

  it('reports an exhausted or expired dead letter once per run, and no other', () => {
    const event = deadLetteredEvent(delivery, 'exhausted', now)!;
    expect(event).toMatchObject({
      event_id: 'evt_wh_dead_whdlv_1_0',
      event_type: 'webhook.delivery.dead_lettered',
      tenant: { id: 'tnt_acme' },
      data: {
        delivery: {
          id: 'whdlv_1',
          event_id: 'evt_1',
          event_type: 'user.signed_up',
          subscription_id: 'whsub_1',
          attempts: 6,
        },
        reason: 'exhausted',
      },
    });
    expectValid(event);
    expect(deadLetteredEvent({ ...delivery, redrive_count: 1 }, 'expired', now)!.event_id).toBe(
      'evt_wh_dead_whdlv_1_1',
    );
    // A disable or delete says so itself; an operational event's own dead letter says nothing (no loops).
    expect(deadLetteredEvent(delivery, 'subscription_disabled', now)).toBeUndefined();
    expect(deadLetteredEvent(delivery, 'subscription_deleted', now)).toBeUndefined();
    expect(
      deadLetteredEvent({ ...delivery, event_type: 'webhook.subscription.disabled' }, 'exhausted', now),
    ).toBeUndefined();
  });

  it('reports a recovery once per run of failures, named by when the run began', () => {
    const event = subscriptionRecoveredEvent({ id: 'whsub_1', tenantId: 'tnt_acme' }, failingSince, now);
    expect(event).toMatchObject({
      event_id: `evt_wh_recovered_whsub_1_${failingSince.getTime()}`,
      data: {
        subscription: { id: 'whsub_1' },
        failing_since: failingSince.toISOString(),
        recovered_at: now.toISOString(),
      },
    });
    expectValid(event);
  });

  it('disables a failing subscription once its run has lasted the configured time, never with 0', () => {
    const day = 86_400_000;
    expect(failingTooLong(failingSince, failingSince.getTime() + 5 * day, 5 * day)).toBe(true);
    expect(failingTooLong(failingSince, failingSince.getTime() + 5 * day - 1, 5 * day)).toBe(false);
    expect(failingTooLong(null, Date.now(), 5 * day)).toBe(false);
    expect(failingTooLong(failingSince, Date.now(), 0)).toBe(false);
  });
});
