import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../../../../libs/config/config';
import { APP_CONFIG } from '../../../../libs/config/config.module';
import { newSubscriptionId } from '../../../../libs/contracts/ids';
import { PoolClient } from 'pg';
import { DeliveriesRepository } from '../../../../libs/db/deliveries.repository';
import { OperatorAction, OperatorActionsRepository } from '../../../../libs/db/operator-actions.repository';
import { OrderingHeadsRepository } from '../../../../libs/db/ordering-heads';
import { Page } from '../../../../libs/db/page';
import { MAX_LIVE_SIGNING_SECRETS } from '../../../../libs/db/subscription-secrets';
import { MAX_RECEIVER_HEADERS } from '../../../../libs/contracts/receiver-credentials';
import { TooManyHeaders } from '../../../../libs/db/receiver-credentials';
import { SubscriptionsRepository } from '../../../../libs/db/subscriptions.repository';
import { SubscriptionView } from '../../../../libs/db/subscription-records';
import { generateSigningSecret } from '../../../../libs/signing/signing';
import { DeliverySignals } from '../../../../libs/temporal/delivery-signals';
import { SubscriptionDisabler } from '../../../../libs/temporal/subscription-disabler';
import { Principal, scopeOf, tenantToCreateFor } from '../auth/principal';
import { ApiError } from '../common/api-error';
import { RateLimit } from '../common/rate-limit';
import { withinTenantQuota } from '../common/tenant-quota';
import { requireEventTypeFilters, requireOperationalFilters } from '../common/event-types';
import { PageRequest } from '../common/paging';
import { BodyValidator } from '../common/validation';
import {
  BLOCKED_KEYS_SHOWN,
  createSubscriptionSchema,
  disableSubscriptionSchema,
  rotateSecretSchema,
  updateSubscriptionSchema,
} from './subscription.schemas';
import { ReceiverCredentialsValidator } from './receiver-credentials.validator';
import { ReceiverUrlValidator } from './receiver-url.validator';

const createValidator = BodyValidator.of(createSubscriptionSchema);
const updateValidator = BodyValidator.of(updateSubscriptionSchema);
const rotateValidator = BodyValidator.of(rotateSecretSchema);
const disableValidator = BodyValidator.of(disableSubscriptionSchema);

export const DEFAULT_ROTATION_GRACE_SECONDS = 86_400;

/**
 * Refused rather than ending the oldest secret early: a receiver may still verify with that one only, and would
 * start refusing deliveries without anyone having asked for it. A rotation with no grace period ends every
 * previous secret, so it is never refused (the way out after a leak).
 */
function secretLimitReached(id: string, firstEndsAt: Date): ApiError {
  return new ApiError(
    HttpStatus.UNPROCESSABLE_ENTITY,
    'secret_limit_reached',
    `subscription ${id} already has ${MAX_LIVE_SIGNING_SECRETS} live signing secrets ` +
      `(the current one and ${MAX_LIVE_SIGNING_SECRETS - 1} in their grace period); ` +
      `rotate again after ${firstEndsAt.toISOString()}, when the first of them ends, ` +
      'or now with grace_period_seconds 0, which ends every previous secret at once',
    { live_secrets: MAX_LIVE_SIGNING_SECRETS, first_ends_at: firstEndsAt.toISOString() },
  );
}

export type CreatedSubscription = SubscriptionView & { secret: string };

@Injectable()
export class SubscriptionsService {
  private readonly rotations: RateLimit;

  constructor(
    private readonly subscriptions: SubscriptionsRepository,
    private readonly deliveries: DeliveriesRepository,
    private readonly orderingHeads: OrderingHeadsRepository,
    private readonly signals: DeliverySignals,
    private readonly disabler: SubscriptionDisabler,
    private readonly operatorActions: OperatorActionsRepository,
    private readonly receiverUrls: ReceiverUrlValidator,
    private readonly credentials: ReceiverCredentialsValidator,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.rotations = new RateLimit(config.quotas.rotationsPerMinute, 60);
  }

  async create(principal: Principal, body: unknown): Promise<CreatedSubscription> {
    const input = createValidator.parse(body);
    const tenantId = tenantToCreateFor(principal, input.tenant_id);
    const secret = generateSigningSecret();
    const subscription = {
      id: newSubscriptionId(),
      tenantId,
      url: this.receiverUrls.require(input.url),
      eventTypes: this.eventTypesFor(tenantId, input.event_types),
      description: input.description ?? null,
      enabled: input.enabled,
      signingSecret: secret,
      maxInFlight: input.max_in_flight ?? null,
      maxPerSecond: input.max_per_second ?? null,
      headers: input.headers === undefined ? [] : this.credentials.headers(input.headers),
      oauth2: input.oauth2 === undefined ? null : this.credentials.oauth2(input.oauth2),
      tlsClient: input.tls_client === undefined ? null : this.credentials.tlsClient(input.tls_client),
      ordering: input.ordering,
    };
    const created = await withinTenantQuota(() =>
      this.subscriptions.create(subscription, this.config.quotas.subscriptions),
    );
    return { ...created, secret };
  }

  list(tenantId: string | undefined, page: PageRequest): Promise<Page<SubscriptionView>> {
    return this.subscriptions.list(tenantId, page.afterId, page.limit);
  }

  async get(principal: Principal, id: string): Promise<SubscriptionView> {
    return this.found(id, await this.subscriptions.get(id, scopeOf(principal)));
  }

  async attemptStats(principal: Principal, id: string) {
    await this.get(principal, id);
    return { subscription_id: id, hours: await this.deliveries.attemptsPerHour(id) };
  }

  async blockedKeys(principal: Principal, id: string) {
    await this.get(principal, id);
    const { keys, more } = await this.orderingHeads.blockedKeys(id, BLOCKED_KEYS_SHOWN);
    return { subscription_id: id, data: keys, has_more: more };
  }

  async update(principal: Principal, id: string, body: unknown): Promise<SubscriptionView> {
    const input = updateValidator.parse(body);
    const { enabled, ...fields } = input;
    let updated: SubscriptionView | undefined;
    if (Object.keys(fields).length > 0) {
      const { headers, oauth2, tls_client: tlsClient } = fields;
      const changes = {
        url: fields.url === undefined ? undefined : this.receiverUrls.require(fields.url),
        eventTypes:
          fields.event_types === undefined
            ? undefined
            : this.eventTypesFor((await this.get(principal, id)).tenant_id, fields.event_types),
        description: fields.description,
        maxInFlight: fields.max_in_flight,
        maxPerSecond: fields.max_per_second,
        ordering: fields.ordering,
        headers: headers === undefined ? undefined : this.credentials.headerChanges(headers),
        oauth2: oauth2 === undefined || oauth2 === null ? oauth2 : this.credentials.oauth2(oauth2),
        tlsClient: tlsClient === undefined || tlsClient === null ? tlsClient : this.credentials.tlsClient(tlsClient),
      };
      try {
        updated = this.found(
          id,
          await this.subscriptions.update(id, scopeOf(principal), changes, MAX_RECEIVER_HEADERS),
        );
      } catch (error) {
        if (!(error instanceof TooManyHeaders)) throw error;
        throw new ApiError(
          HttpStatus.UNPROCESSABLE_ENTITY,
          'too_many_headers',
          `a subscription has at most ${error.limit} headers; remove some (a header set to null) to add others`,
          [{ field: 'headers', problem: `would hold more than ${error.limit} headers` }],
        );
      }
    }
    if (enabled === undefined) return updated ?? this.get(principal, id);
    return enabled ? this.enable(principal, id) : this.disable(principal, id, {});
  }

  /** Disabling stops new deliveries at once and ends the waiting ones as dead letters (`subscription_disabled`). */
  async disable(principal: Principal, id: string, body: unknown): Promise<SubscriptionView> {
    const { reason } = disableValidator.parseOptional(body);
    return this.found(
      id,
      await this.disabler.disable(id, scopeOf(principal), reason ?? 'disabled_by_operator', principal.actor),
    );
  }

  /** Re-enabling takes new events again; deliveries stopped by the disable stay dead letters until redriven. */
  async enable(principal: Principal, id: string): Promise<SubscriptionView> {
    const enabled = await this.changeAndRecord(principal, 'subscription.enable', (client) =>
      this.subscriptions.setEnabled(id, scopeOf(principal), true, null, client),
    );
    return this.found(id, enabled?.result);
  }

  async delete(principal: Principal, id: string): Promise<void> {
    const deleted = await this.changeAndRecord(principal, 'subscription.delete', (client) =>
      this.subscriptions.softDelete(id, scopeOf(principal), client),
    );
    this.found(id, deleted?.result);
    // Committed first: a waiting delivery this misses stops at its next attempt, which reads the subscription deleted.
    await this.operatorActions.carryOut(
      deleted!.actionId,
      () => this.signals.stopWaitingDeliveries(id, { reason: 'subscription_deleted' }),
      (stopped) => ({ waiting_deliveries_stopped: stopped }),
    );
  }

  /** A new secret, shown once; the previous ones keep signing for the grace period (0: stop at once). */
  async rotateSecret(principal: Principal, id: string, body: unknown) {
    const { grace_period_seconds: grace = DEFAULT_ROTATION_GRACE_SECONDS } = rotateValidator.parseOptional(body);
    // Counted once the caller is known to see the subscription, so an unknown id neither counts nor answers 429.
    await this.get(principal, id);
    await this.rotations.admit(
      id,
      (retryAfter) =>
        `subscription ${id} is over its limit of ${this.config.quotas.rotationsPerMinute} secret rotations per minute ` +
        `(SECRET_ROTATION_RATE_LIMIT); retry after ${retryAfter} s`,
    );
    const secret = generateSigningSecret();
    const rotated = await this.changeAndRecord(
      principal,
      'subscription.rotate_secret',
      async (client) => {
        const result = await this.subscriptions.secrets.rotate(id, scopeOf(principal), secret, grace, client);
        if (result !== undefined && 'secretLimitReached' in result)
          throw secretLimitReached(id, result.secretLimitReached.firstEndsAt);
        return result;
      },
      {
        grace_period_seconds: grace,
      },
    );
    if (!rotated) throw ApiError.notFound('subscription', id);
    return { id, secret, previous_secrets_valid_until: rotated.result.previousValidUntil };
  }

  /** Valid filters; for the platform tenant, operational ones only (it receives nothing else). */
  private eventTypesFor(tenantId: string, values: string[]): string[] {
    const filters = requireEventTypeFilters(values);
    return tenantId === this.config.platformTenantId ? requireOperationalFilters(filters, tenantId) : filters;
  }

  private found(id: string, subscription: SubscriptionView | undefined): SubscriptionView {
    if (!subscription) throw ApiError.notFound('subscription', id);
    return subscription;
  }

  /** A change to a subscription and its operator action row, in one transaction. */
  private changeAndRecord<T extends { tenant_id: string; id: string }>(
    principal: Principal,
    action: OperatorAction,
    change: (client: PoolClient) => Promise<T | undefined>,
    details?: Record<string, unknown>,
  ) {
    return this.operatorActions.changeAndRecord(change, (subscription) => ({
      tenantId: subscription.tenant_id,
      action,
      targetType: 'subscription',
      targetId: subscription.id,
      actor: principal.actor,
      details,
    }));
  }
}
