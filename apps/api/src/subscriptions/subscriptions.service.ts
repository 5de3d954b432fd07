import { HttpStatus, Injectable } from '@nestjs/common';
import { newSubscriptionId } from '../../../../libs/contracts/ids';
import { Page } from '../../../../libs/db/page';
import { SubscriptionsRepository, SubscriptionView } from '../../../../libs/db/subscriptions.repository';
import { generateSigningSecret } from '../../../../libs/signing/signing';
import { ApiError } from '../common/api-error';
import { requireEventTypeFilters } from '../common/event-types';
import { PageRequest } from '../common/paging';
import { BodyValidator } from '../common/validation';
import {
  CreateSubscriptionBody,
  createSubscriptionSchema,
  UpdateSubscriptionBody,
  updateSubscriptionSchema,
} from './subscription.schemas';

const createValidator = new BodyValidator<CreateSubscriptionBody>(createSubscriptionSchema);
const updateValidator = new BodyValidator<UpdateSubscriptionBody>(updateSubscriptionSchema);

/** A receiver URL: absolute http(s), no embedded credentials (they would sit in logs and the UI). */
export function requireReceiverUrl(value: string): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ApiError(HttpStatus.UNPROCESSABLE_ENTITY, 'invalid_url', 'url must be an absolute http:// or https:// URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ApiError(HttpStatus.UNPROCESSABLE_ENTITY, 'invalid_url', `url must use http or https, not ${parsed.protocol.replace(':', '')}`);
  }
  if (parsed.username || parsed.password) {
    throw new ApiError(HttpStatus.UNPROCESSABLE_ENTITY, 'invalid_url', 'url must not carry credentials; authenticate receivers by the signature');
  }
  return value;
}

export type CreatedSubscription = SubscriptionView & { secret: string };

@Injectable()
export class SubscriptionsService {
  constructor(private readonly subscriptions: SubscriptionsRepository) {}

  async create(body: unknown): Promise<CreatedSubscription> {
    const input = createValidator.parse(body);
    const secret = generateSigningSecret();
    const created = await this.subscriptions.create({
      id: newSubscriptionId(),
      tenantId: input.tenant_id,
      url: requireReceiverUrl(input.url),
      eventTypes: requireEventTypeFilters(input.event_types),
      description: input.description ?? null,
      signingSecret: secret,
    });
    return { ...created, secret };
  }

  list(tenantId: string, page: PageRequest): Promise<Page<SubscriptionView>> {
    return this.subscriptions.listByTenant(tenantId, page.afterId, page.limit);
  }

  async get(id: string): Promise<SubscriptionView> {
    const found = await this.subscriptions.get(id);
    if (!found) throw ApiError.notFound('subscription', id);
    return found;
  }

  async update(id: string, body: unknown): Promise<SubscriptionView> {
    const input = updateValidator.parse(body);
    const updated = await this.subscriptions.update(id, {
      url: input.url === undefined ? undefined : requireReceiverUrl(input.url),
      eventTypes: input.event_types === undefined ? undefined : requireEventTypeFilters(input.event_types),
      description: input.description,
      enabled: input.enabled,
    });
    if (!updated) throw ApiError.notFound('subscription', id);
    return updated;
  }

  async delete(id: string): Promise<void> {
    if (!(await this.subscriptions.softDelete(id))) throw ApiError.notFound('subscription', id);
  }
}
