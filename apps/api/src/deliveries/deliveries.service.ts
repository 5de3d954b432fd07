import { HttpStatus, Injectable } from '@nestjs/common';
import { DeliveriesRepository, DeliveryFilter, DeliveryStatus } from '../../../../libs/db/deliveries.repository';
import { DeliveryNotActiveError, DeliveryStarter, DeliveryStillRunningError } from '../../../../libs/temporal/delivery-starter';
import { ApiError } from '../common/api-error';
import { PageRequest } from '../common/paging';
import { BodyValidator } from '../common/validation';

const ENDED: ReadonlySet<DeliveryStatus> = new Set(['delivered', 'dead_lettered', 'cancelled']);

export const cancelDeliverySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { reason: { type: 'string', maxLength: 500 } },
} as const;
const cancelValidator = new BodyValidator<{ reason?: string }>(cancelDeliverySchema);

const notActive = (id: string, status: string) =>
  new ApiError(HttpStatus.CONFLICT, 'delivery_not_active', `delivery ${id} is ${status}; only a waiting or attempting delivery can be cancelled or retried (redrive a dead letter)`);

@Injectable()
export class DeliveriesService {
  constructor(
    private readonly deliveries: DeliveriesRepository,
    private readonly starter: DeliveryStarter,
  ) {}

  async get(id: string) {
    const delivery = await this.deliveries.get(id);
    if (!delivery) throw ApiError.notFound('delivery', id);
    return { ...delivery, attempts: await this.deliveries.attempts(id) };
  }

  list(filter: DeliveryFilter, page: PageRequest) {
    return this.deliveries.list(filter, page.afterId, page.limit);
  }

  async cancel(id: string, body: unknown) {
    const { reason } = cancelValidator.parse(body ?? {});
    return this.operate(id, (row) => this.starter.cancel(row, { reason, requestedBy: 'api' }), 'cancel_requested');
  }

  async retryNow(id: string) {
    return this.operate(id, (row) => this.starter.retryNow(row), 'retry_requested');
  }

  /** A new run of the same workflow id for a dead letter, with a fresh schedule. */
  async redrive(id: string) {
    const claimed = await this.deliveries.beginRedrive(id);
    if (!claimed) {
      const existing = await this.deliveries.get(id);
      if (!existing) throw ApiError.notFound('dead_letter', id);
      throw new ApiError(HttpStatus.CONFLICT, 'not_dead_lettered', `delivery ${id} is ${existing.status}, not dead-lettered; nothing to redrive`);
    }
    try {
      await this.starter.redrive(claimed);
    } catch (error) {
      await this.deliveries.abortRedrive(id);
      if (error instanceof DeliveryStillRunningError) {
        throw new ApiError(HttpStatus.CONFLICT, 'delivery_still_running', `delivery ${id} is still finishing its previous run; retry the redrive in a moment`);
      }
      throw error;
    }
    return { id, status: 'pending' as const };
  }

  private async operate(
    id: string,
    action: (row: NonNullable<Awaited<ReturnType<DeliveriesRepository['forOperation']>>>) => Promise<void>,
    outcome: string,
  ) {
    const row = await this.deliveries.forOperation(id);
    if (!row) throw ApiError.notFound('delivery', id);
    if (ENDED.has(row.status)) throw notActive(id, row.status);
    try {
      await action(row);
    } catch (error) {
      if (error instanceof DeliveryNotActiveError) throw notActive(id, 'finished');
      throw error;
    }
    return { id, status: outcome };
  }
}
