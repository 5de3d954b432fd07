import { Inject, Injectable } from '@nestjs/common';
import { OAuth2Tokens } from '../../../../libs/outbound/oauth2-tokens';
import { ListenHandoff } from '../../../../libs/outbound/listen-handoff';
import { sendSignedDelivery } from '../../../../libs/outbound/signed-delivery';
import { WebhookSender } from '../../../../libs/outbound/webhook-sender';
import { AppConfig } from '../../../../libs/config/config';
import { APP_CONFIG } from '../../../../libs/config/config.module';
import { eventTypeDefinition } from '../../../../libs/contracts/event-data-schemas';
import { derivedOrderingKey } from '../../../../libs/contracts/ordering-key';
import { newTestEventId } from '../../../../libs/contracts/ids';
import { SubscriptionsRepository } from '../../../../libs/db/subscriptions.repository';
import { Principal } from '../auth/principal';
import { ApiError } from '../common/api-error';
import { RateLimit } from '../common/rate-limit';
import { requireEventType } from '../common/event-types';
import { BodyValidator } from '../common/validation';
import { testSendSchema, TestSendResult } from './subscription.schemas';
import { SubscriptionsService } from './subscriptions.service';

const testValidator = BodyValidator.of(testSendSchema);

/**
 * Sends a signed example event of a type to the subscription through the delivery path itself (same body,
 * headers, signing, receiver credentials and outbound rules), records nothing, and reports what the receiver did.
 */
@Injectable()
export class TestSendService {
  private readonly limit: RateLimit;

  constructor(
    private readonly subscriptions: SubscriptionsService,
    private readonly repository: SubscriptionsRepository,
    private readonly sender: WebhookSender,
    private readonly tokens: OAuth2Tokens,
    private readonly listen: ListenHandoff,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    // Per tenant, not per subscription: a tenant's many subscriptions do not multiply what it may send.
    this.limit = new RateLimit(config.quotas.testSendsPerMinute, 60);
  }

  async send(principal: Principal, id: string, body: unknown): Promise<TestSendResult> {
    const eventType = requireEventType(testValidator.parse(body).event_type);
    const subscription = await this.subscriptions.get(principal, id);
    await this.limit.admit(
      subscription.tenant_id,
      (retryAfter) =>
        `tenant ${subscription.tenant_id} is over its limit of ${this.config.quotas.testSendsPerMinute} test sends ` +
        `per minute (TEST_SEND_RATE_LIMIT); retry after ${retryAfter} s`,
    );
    const target = await this.repository.target(id);
    if (!target) throw ApiError.notFound('subscription', id);
    const event = {
      event_id: newTestEventId(),
      event_type: eventType,
      occurred_at: new Date().toISOString(),
      tenant: { id: subscription.tenant_id },
      actor: { kind: 'system', id: 'intelliauth-webhooks-test' },
      data: eventTypeDefinition(eventType).example,
    };
    // With the ordering key the catalogue gives the example, so the receiver sees the header as deliveries carry it;
    // a listen session's test send goes to its tool, as its attempts do.
    const orderingKey = derivedOrderingKey(eventType, event.data);
    const sender = target.kind === 'listen' ? this.listen.to(target.id) : this.sender;
    const sent = await sendSignedDelivery(
      { sender, tokens: this.tokens },
      target,
      { event, orderingKey },
      1,
      this.config.delivery.attemptTimeoutMs,
    );
    return {
      delivered: sent.succeeded,
      status_code: sent.statusCode,
      error: sent.error,
      duration_ms: sent.durationMs,
      response_excerpt: sent.responseExcerpt,
      event_id: event.event_id,
      body: JSON.parse(sent.body),
    };
  }
}
