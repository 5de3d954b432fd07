import { Test } from '@nestjs/testing';
import { AppConfig, loadConfig } from '../../libs/config/config';
import { APP_CONFIG } from '../../libs/config/config.module';
import { StoredEvent } from '../../libs/contracts/envelope';
import { eventTypeDefinition } from '../../libs/contracts/event-data-schemas';
import { EventsRepository, PublishOutcome, PublishedDelivery } from '../../libs/db/events.repository';
import { PublishRateLimiter } from '../../apps/api/src/events/publish-rate-limiter';
import { MAX_FUTURE_SKEW_MS, PublishService } from '../../apps/api/src/events/publish.service';
import { serviceKey, tenantKey } from '../helpers/principals';

/**
 * Publish without Postgres: the repository is a stub that keeps what it was asked to store and answers as the
 * events table would (created with one delivery per matching subscription, replayed, or in conflict).
 */
class StubEventsRepository {
  readonly stored: Array<{ event: StoredEvent; contentHash: string; orderingKey: string | null }> = [];
  answer: (event: StoredEvent) => PublishOutcome = () => ({ kind: 'created', deliveries: [] });

  publish(event: StoredEvent, contentHash: string, orderingKey: string | null): Promise<PublishOutcome> {
    this.stored.push({ event, contentHash, orderingKey });
    return Promise.resolve(this.answer(event));
  }
}

const SERVICE = serviceKey('service:test');
const TENANT_KEY = tenantKey('tnt_acme');
const SIGNED_UP_DATA = eventTypeDefinition('user.signed_up').example as Record<string, unknown>;
const RATE_PER_TENANT = 3;

let events: StubEventsRepository;
let config: AppConfig;
let service: PublishService;

beforeEach(async () => {
  events = new StubEventsRepository();
  config = { ...loadConfig({}), publishRatePerTenant: RATE_PER_TENANT };
  const module = await Test.createTestingModule({
    providers: [
      PublishService,
      PublishRateLimiter,
      { provide: EventsRepository, useValue: events },
      { provide: APP_CONFIG, useValue: config },
    ],
  }).compile();
  service = module.get(PublishService);
});

const signedUp = (extra: Record<string, unknown> = {}) => ({
  event_type: 'user.signed_up',
  tenant: { id: 'tnt_acme', slug: 'acme' },
  data: SIGNED_UP_DATA,
  ...extra,
});

describe('PublishService: what a valid publish stores and answers', () => {
  it('stores the event as sent, with a generated evt_ id and the time of the publish, and answers its deliveries', async () => {
    const fanOut: PublishedDelivery[] = [
      { id: 'whdlv_01', subscription_id: 'whsub_a' },
      { id: 'whdlv_02', subscription_id: 'whsub_b' },
    ];
    events.answer = () => ({ kind: 'created', deliveries: fanOut });
    const before = Date.now();
    const { result, replayed } = await service.publish(SERVICE, signedUp({ actor: { kind: 'user', id: 'usr_admin' } }));

    expect(events.stored).toHaveLength(1);
    const { event } = events.stored[0];
    expect(event.event_id).toMatch(/^evt_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(event).toEqual({
      event_id: event.event_id,
      event_type: 'user.signed_up',
      occurred_at: event.occurred_at,
      tenant: { id: 'tnt_acme', slug: 'acme' },
      actor: { kind: 'user', id: 'usr_admin' },
      data: SIGNED_UP_DATA,
    });
    expect(Date.parse(event.occurred_at)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(event.occurred_at)).toBeLessThanOrEqual(Date.now());
    expect(replayed).toBe(false);
    expect(result).toEqual({ event_id: event.event_id, deliveries: fanOut });
  });

  it("keeps the publisher's event_id and occurred_at, and leaves out an actor that was not sent", async () => {
    const occurredAt = new Date(Date.now() - 60_000).toISOString();
    const { result } = await service.publish(
      SERVICE,
      signedUp({ event_id: 'evt_publisher_1', occurred_at: occurredAt }),
    );
    expect(result).toEqual({ event_id: 'evt_publisher_1', deliveries: [] });
    expect(events.stored[0].event.occurred_at).toBe(occurredAt);
    expect(events.stored[0].event).not.toHaveProperty('actor');
  });

  it('answers only the id and subscription of each delivery the repository fanned out', async () => {
    events.answer = () => ({
      kind: 'created',
      deliveries: [{ id: 'whdlv_03', subscription_id: 'whsub_c', extra: 'kept out' } as PublishedDelivery],
    });
    const { result } = await service.publish(SERVICE, signedUp());
    expect(result.deliveries).toEqual([{ id: 'whdlv_03', subscription_id: 'whsub_c' }]);
  });
});

describe('PublishService: the ordering key', () => {
  it("stores the publisher's ordering_key beside the event, never in it", async () => {
    await service.publish(SERVICE, signedUp({ ordering_key: 'account/42:profile' }));
    expect(events.stored[0].orderingKey).toBe('account/42:profile');
    expect(events.stored[0].event).not.toHaveProperty('ordering_key');
  });

  it("derives it from the catalogue when none is sent: the user's id for a user event", async () => {
    await service.publish(SERVICE, signedUp());
    expect(events.stored[0].orderingKey).toBe(`user:${(SIGNED_UP_DATA.user as { id: string }).id}`);
  });

  it.each([
    ['empty', ''],
    ['longer than 256 characters', 'k'.repeat(257)],
    ['with a space', 'user 1'],
    ['with a control character', 'user\n1'],
    ['outside ASCII', 'usér'],
  ])('refuses an ordering_key %s: 400 validation_failed naming the field', async (_case, orderingKey) => {
    await expect(service.publish(SERVICE, signedUp({ ordering_key: orderingKey }))).rejects.toMatchObject({
      status: 400,
      code: 'validation_failed',
      details: expect.arrayContaining([{ field: 'ordering_key', problem: expect.any(String) }]),
    });
    expect(events.stored).toEqual([]);
  });
});

describe('PublishService: idempotency', () => {
  it('hashes the content without its event_id and whatever its key order, so a retry matches its first publish', async () => {
    await service.publish(SERVICE, signedUp({ event_id: 'evt_first' }));
    await service.publish(SERVICE, {
      data: SIGNED_UP_DATA,
      tenant: { slug: 'acme', id: 'tnt_acme' },
      event_type: 'user.signed_up',
      event_id: 'evt_second',
    });
    await service.publish(SERVICE, signedUp({ data: { user: { id: 'usr_other' } } }));
    const [first, reordered, changed] = events.stored.map((s) => s.contentHash);
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(reordered).toBe(first);
    expect(changed).not.toBe(first);
  });

  it('answers a replay with the deliveries of the first publish', async () => {
    events.answer = () => ({ kind: 'replayed', deliveries: [{ id: 'whdlv_04', subscription_id: 'whsub_d' }] });
    const answer = await service.publish(SERVICE, signedUp({ event_id: 'evt_again' }));
    expect(answer).toEqual({
      replayed: true,
      result: { event_id: 'evt_again', deliveries: [{ id: 'whdlv_04', subscription_id: 'whsub_d' }] },
    });
  });

  it('refuses the same event_id with other content: 409 event_conflict', async () => {
    events.answer = () => ({ kind: 'conflict' });
    await expect(service.publish(SERVICE, signedUp({ event_id: 'evt_taken' }))).rejects.toMatchObject({
      status: 409,
      code: 'event_conflict',
      message:
        'event evt_taken was already published with different content; publish a changed event under a new event_id',
    });
  });
});

describe('PublishService: what it refuses before storing anything', () => {
  afterEach(() => expect(events.stored).toEqual([]));

  it('a tenant key: 403 service_key_required', async () => {
    await expect(service.publish(TENANT_KEY, signedUp())).rejects.toMatchObject({
      status: 403,
      code: 'service_key_required',
      message: 'publishing events needs a service key; tenant keys cannot do it',
    });
  });

  it('an event that sets delivery: 400 validation_failed naming the field', async () => {
    await expect(service.publish(SERVICE, signedUp({ delivery: { attempt: 1 } }))).rejects.toMatchObject({
      status: 400,
      code: 'validation_failed',
      details: [{ field: 'delivery', problem: 'is set by the service' }],
    });
  });

  it('an envelope without data or with an unknown field: 400 validation_failed naming each', async () => {
    const { data: _left, ...withoutData } = signedUp();
    await expect(service.publish(SERVICE, { ...withoutData, colour: 'red' })).rejects.toMatchObject({
      status: 400,
      code: 'validation_failed',
      details: expect.arrayContaining([
        { field: 'data', problem: 'is required' },
        { field: 'colour', problem: 'is not a known field' },
      ]),
    });
  });

  it('a type not in the catalogue: 422 unknown_event_type with the valid types', async () => {
    const refusal = service.publish(SERVICE, signedUp({ event_type: 'user.teleported' }));
    await expect(refusal).rejects.toMatchObject({
      status: 422,
      code: 'unknown_event_type',
      details: { valid_event_types: expect.arrayContaining(['user.signed_up']) },
    });
  });

  it('an operational type, which only the service emits: 422 operational_event_type', async () => {
    const refusal = service.publish(SERVICE, signedUp({ event_type: 'webhook.subscription.recovered' }));
    await expect(refusal).rejects.toMatchObject({ status: 422, code: 'operational_event_type' });
  });

  it("data that does not fit the type's schema: 422 invalid_event_data", async () => {
    const refusal = service.publish(SERVICE, signedUp({ data: { user: { email: 'no-id@example.com' } } }));
    await expect(refusal).rejects.toMatchObject({
      status: 422,
      code: 'invalid_event_data',
      message: expect.stringContaining('data does not match the user.signed_up schema'),
    });
  });

  it('the platform tenant, whose subscriptions receive operational events only: 422 platform_tenant', async () => {
    const refusal = service.publish(SERVICE, signedUp({ tenant: { id: config.platformTenantId } }));
    await expect(refusal).rejects.toMatchObject({ status: 422, code: 'platform_tenant' });
  });

  it('an occurred_at older than the delivery TTL or further ahead than the clock skew: 422 occurred_at_out_of_range', async () => {
    const tooOld = new Date(Date.now() - config.delivery.ttlMs - 60_000).toISOString();
    const tooNew = new Date(Date.now() + MAX_FUTURE_SKEW_MS + 60_000).toISOString();
    for (const occurredAt of [tooOld, tooNew])
      await expect(service.publish(SERVICE, signedUp({ occurred_at: occurredAt }))).rejects.toMatchObject({
        status: 422,
        code: 'occurred_at_out_of_range',
      });
  });
});

describe('PublishService: the per-tenant publish limit', () => {
  it("refuses a tenant's publishes over the limit with 429 rate_limited and Retry-After, and lets other tenants publish", async () => {
    for (let i = 0; i < RATE_PER_TENANT; i++) await service.publish(SERVICE, signedUp());
    const refusal = await service.publish(SERVICE, signedUp()).catch((error: unknown) => error);
    expect(refusal).toMatchObject({
      status: 429,
      code: 'rate_limited',
      details: { retry_after_seconds: 1 },
      headers: { 'retry-after': '1' },
      message: `tenant tnt_acme is over its publish limit of ${RATE_PER_TENANT} events per second; retry after 1 s`,
    });
    expect(events.stored).toHaveLength(RATE_PER_TENANT);

    await service.publish(SERVICE, signedUp({ tenant: { id: 'tnt_other' } }));
    expect(events.stored.map((s) => s.event.tenant.id).slice(-1)).toEqual(['tnt_other']);
  });
});
