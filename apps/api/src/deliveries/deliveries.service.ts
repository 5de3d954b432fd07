import { HttpStatus, Injectable } from '@nestjs/common';
import { DELIVERY_STATUSES, DeliveryStatus, ENDED_DELIVERY_STATUSES } from '../../../../libs/contracts/delivery-status';
import { AttemptsRepository } from '../../../../libs/db/attempts.repository';
import { DeliveriesRepository, DeliveryForOperation } from '../../../../libs/db/deliveries.repository';
import { DeliveryFilter } from '../../../../libs/db/rows';
import { OperatorActionsRepository } from '../../../../libs/db/operator-actions.repository';
import { DeadLetterRedriver } from '../../../../libs/temporal/dead-letter-redriver';
import { DeliveryNotActiveError, DeliverySignals } from '../../../../libs/temporal/delivery-signals';
import { listTenant, Principal, scopeOf } from '../auth/principal';
import { ApiError } from '../common/api-error';
import { SUBSCRIPTION_ID_PATTERN } from '../../../../libs/contracts/ids';
import { EVENT_TYPE_PATTERN, PageRequest, queryText, queryTime } from '../common/paging';
import { BodyValidator } from '../common/validation';
import { cancelDeliverySchema } from './delivery.schemas';
import { recordedRerun } from './recorded-rerun';

const STATUS_PATTERN = new RegExp(`^(${DELIVERY_STATUSES.join('|')})$`);
const ENDED: ReadonlySet<DeliveryStatus> = new Set(ENDED_DELIVERY_STATUSES);

const cancelValidator = BodyValidator.of(cancelDeliverySchema);

const notActive = (id: string, status: string) =>
  new ApiError(
    HttpStatus.CONFLICT,
    'delivery_not_active',
    `delivery ${id} is ${status}; only a waiting or attempting delivery can be cancelled or retried (redrive a dead letter)`,
  );

@Injectable()
export class DeliveriesService {
  constructor(
    private readonly deliveries: DeliveriesRepository,
    private readonly signals: DeliverySignals,
    private readonly operatorActions: OperatorActionsRepository,
    private readonly redriver: DeadLetterRedriver,
    private readonly attempts: AttemptsRepository,
  ) {}

  /** A new run of attempts of an ended delivery (delivered included) to its subscription, numbered on from the last. */
  resend(principal: Principal, id: string) {
    return recordedRerun(
      this.redriver,
      this.operatorActions,
      principal,
      id,
      { action: 'delivery.resend', missing: 'delivery' },
      (status) =>
        new ApiError(
          HttpStatus.CONFLICT,
          'delivery_not_ended',
          `delivery ${id} is ${status}; only an ended delivery (delivered, dead_lettered, cancelled) can be resent ` +
            `(retry skips the wait of an active one)`,
        ),
    );
  }

  async get(principal: Principal, id: string) {
    const delivery = await this.deliveries.get(id, scopeOf(principal));
    if (!delivery) throw ApiError.notFound('delivery', id);
    return { ...delivery, attempts: await this.deliveries.attempts(id) };
  }

  /** Query parameters (REST) or request fields (gRPC) as a filter limited to the caller's tenant. */
  filterFromQuery(principal: Principal, query: Record<string, unknown>): DeliveryFilter {
    return {
      tenantId: listTenant(principal, query),
      status: queryText(query, 'status', STATUS_PATTERN, `must be one of ${DELIVERY_STATUSES.join(', ')}`) as
        DeliveryStatus | undefined,
      eventType: queryText(query, 'event_type', EVENT_TYPE_PATTERN, 'must be a catalogue event type'),
      subscriptionId: queryText(query, 'subscription_id', SUBSCRIPTION_ID_PATTERN, 'must be a whsub_ id'),
      createdFrom: optionalDate(queryTime(query, 'from')),
      createdTo: optionalDate(queryTime(query, 'to')),
    };
  }

  list(filter: DeliveryFilter, page: PageRequest) {
    return this.deliveries.list(filter, page.afterId, page.limit);
  }

  async cancel(principal: Principal, id: string, body: unknown) {
    const { reason } = cancelValidator.parseOptional(body);
    const row = await this.activeDelivery(principal, id);
    const actionId = await this.operatorActions.record({
      tenantId: row.tenant_id,
      action: 'delivery.cancel',
      targetType: 'delivery',
      targetId: id,
      actor: principal.actor,
      details: { reason: reason ?? null },
    });
    await this.operatorActions.carryOut(actionId, () => this.cancelRun(row, reason, principal.actor));
    return { id, status: 'cancel_requested' };
  }

  /**
   * A delivery whose workflow no longer runs while its row is not ended (the run was terminated from the Temporal
   * UI) would never record an end, and as the head of an ordering key would block the key for good: the cancel
   * records the end itself, which gives back its permit and key.
   */
  private async cancelRun(row: DeliveryForOperation, reason: string | undefined, actor: string): Promise<void> {
    try {
      await this.signals.cancel(row, { reason, requestedBy: actor });
    } catch (error) {
      if (!(error instanceof DeliveryNotActiveError)) throw error;
      const failureReason = `cancelled: ${reason ?? 'its workflow no longer runs'}`;
      const ended = await this.attempts.recordState(
        row.id,
        { status: 'cancelled', nextAttemptAt: null, failureReason },
        { unlessEnded: true },
      );
      if (ended === undefined) throw notActive(row.id, 'finished');
    }
  }

  /** A delivery waiting for its ordering key's turn is refused: starting it now would overtake an earlier one. */
  async retryNow(principal: Principal, id: string) {
    const row = await this.activeDelivery(principal, id);
    if (row.queued_under_key !== null) {
      throw new ApiError(
        HttpStatus.CONFLICT,
        'waiting_for_turn',
        `delivery ${id} waits for the earlier deliveries of its ordering key to end; retry or cancel the key's head ` +
          `(GET /v1/subscriptions/${row.subscription_id}/blocked-keys), or cancel this one`,
        { ordering_key: row.queued_under_key },
      );
    }
    const actionId = await this.operatorActions.record({
      tenantId: row.tenant_id,
      action: 'delivery.retry',
      targetType: 'delivery',
      targetId: id,
      actor: principal.actor,
    });
    await this.operatorActions.carryOut(actionId, () => this.signal(row, () => this.signals.retryNow(row)));
    return { id, status: 'retry_requested' };
  }

  private async activeDelivery(principal: Principal, id: string): Promise<DeliveryForOperation> {
    const row = await this.deliveries.forOperation(id, scopeOf(principal));
    if (!row) throw ApiError.notFound('delivery', id);
    if (ENDED.has(row.status)) throw notActive(id, row.status);
    return row;
  }

  private async signal(row: DeliveryForOperation, send: () => Promise<void>): Promise<void> {
    try {
      await send();
    } catch (error) {
      if (error instanceof DeliveryNotActiveError) throw notActive(row.id, 'finished');
      throw error;
    }
  }
}

const optionalDate = (time: string | undefined) => (time === undefined ? undefined : new Date(time));
