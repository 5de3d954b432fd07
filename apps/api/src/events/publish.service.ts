import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';
import { AppConfig } from '../../../../libs/config/config';
import { APP_CONFIG } from '../../../../libs/config/config.module';
import { StoredEvent } from '../../../../libs/contracts/envelope';
import { newEventId } from '../../../../libs/contracts/ids';
import { derivedOrderingKey } from '../../../../libs/contracts/ordering-key';
import { EventsRepository } from '../../../../libs/db/events.repository';
import { ApiError } from '../common/api-error';
import { requirePublishableEventType } from '../common/event-types';
import { BodyValidator, checkAgainstSchema } from '../common/validation';
import { eventTypeDefinition } from '../../../../libs/contracts/event-data-schemas';
import { Principal, requireServiceKey } from '../auth/principal';
import { PublishEventBody, publishEventSchema, PublishResult } from './event.schemas';
import { PublishRateLimiter } from './publish-rate-limiter';

/** How far ahead of the server clock occurred_at may be (publisher clock skew). */
export const MAX_FUTURE_SKEW_MS = 5 * 60_000;

const validator = BodyValidator.of(publishEventSchema);

@Injectable()
export class PublishService {
  constructor(
    private readonly events: EventsRepository,
    private readonly rateLimiter: PublishRateLimiter,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Validates and stores the event with its deliveries (the outbox) in one transaction; nothing here waits on
   * Temporal: the worker's outbox relay starts the workflows as soon as the rows are committed.
   */
  async publish(principal: Principal, body: unknown): Promise<{ result: PublishResult; replayed: boolean }> {
    requireServiceKey(principal, 'publishing events');
    if (body !== null && typeof body === 'object' && 'delivery' in body) {
      throw new ApiError(
        HttpStatus.BAD_REQUEST,
        'validation_failed',
        'delivery is set by the service on each attempt; remove it from the event',
        [{ field: 'delivery', problem: 'is set by the service' }],
      );
    }
    const input = validator.parse(body, 'event');
    await this.rateLimiter.admit(input.tenant.id);
    const eventType = requirePublishableEventType(input.event_type);
    if (input.tenant.id === this.config.platformTenantId) {
      throw new ApiError(
        HttpStatus.UNPROCESSABLE_ENTITY,
        'platform_tenant',
        `${input.tenant.id} is the platform tenant, whose subscriptions receive operational events only; publish the event for the tenant it happened in`,
      );
    }
    checkAgainstSchema(
      eventTypeDefinition(eventType).dataSchema,
      input.data,
      'data',
      'invalid_event_data',
      `data does not match the ${eventType} schema (GET /v1/event-types)`,
    );
    const occurredAt = this.occurredAt(input.occurred_at);
    const event: StoredEvent = {
      event_id: input.event_id ?? newEventId(),
      event_type: eventType,
      occurred_at: occurredAt.toISOString(),
      tenant: input.tenant,
      data: input.data,
    };
    if (input.actor !== undefined) event.actor = input.actor;

    const orderingKey = input.ordering_key ?? derivedOrderingKey(eventType, input.data);
    const outcome = await this.events.publish(event, contentHash(input), orderingKey);
    if (outcome.kind === 'conflict') {
      throw new ApiError(
        HttpStatus.CONFLICT,
        'event_conflict',
        `event ${event.event_id} was already published with different content; publish a changed event under a new event_id`,
      );
    }
    return {
      replayed: outcome.kind === 'replayed',
      result: {
        event_id: event.event_id,
        deliveries: outcome.deliveries.map((d) => ({ id: d.id, subscription_id: d.subscription_id })),
      },
    };
  }

  private occurredAt(text: string | undefined): Date {
    const now = Date.now();
    if (text === undefined) return new Date(now);
    const at = Date.parse(text);
    if (at < now - this.config.delivery.ttlMs || at > now + MAX_FUTURE_SKEW_MS) {
      throw new ApiError(
        HttpStatus.UNPROCESSABLE_ENTITY,
        'occurred_at_out_of_range',
        `occurred_at must lie between ${new Date(now - this.config.delivery.ttlMs).toISOString()} (the delivery TTL ago) ` +
          `and ${new Date(now + MAX_FUTURE_SKEW_MS).toISOString()} (5 minutes ahead)`,
      );
    }
    return new Date(at);
  }
}

/** The request as sent, minus event_id: a retried publish must match it exactly (key order aside) to be idempotent. */
function contentHash(input: PublishEventBody): string {
  const { event_id: _ignored, ...content } = input;
  return createHash('sha256')
    .update(canonicalize(content) ?? '', 'utf8')
    .digest('hex');
}
