import { HttpStatus, Injectable } from '@nestjs/common';
import { BulkRedrivesRepository, StoredFilter, toDeliveryFilter } from '../../../../libs/db/bulk-redrives.repository';
import { DeliveriesRepository } from '../../../../libs/db/deliveries.repository';
import { OperatorActionsRepository } from '../../../../libs/db/operator-actions.repository';
import { DeadLetterRedriver } from '../../../../libs/temporal/dead-letter-redriver';
import { listTenant, Principal, scopeOf, tenantFor } from '../auth/principal';
import { recordedRerun } from '../deliveries/recorded-rerun';
import { ApiError } from '../common/api-error';
import { SUBSCRIPTION_ID_PATTERN } from '../../../../libs/contracts/ids';
import { EVENT_TYPE_PATTERN, PageRequest, queryText, queryTime } from '../common/paging';
import { BodyValidator } from '../common/validation';
import { deadLetterFilterSchema, REASON_PATTERN } from './dead-letter.schemas';

const bulkValidator = BodyValidator.of(deadLetterFilterSchema);

@Injectable()
export class DeadLettersService {
  constructor(
    private readonly deliveries: DeliveriesRepository,
    private readonly bulkRedrives: BulkRedrivesRepository,
    private readonly redriver: DeadLetterRedriver,
    private readonly operatorActions: OperatorActionsRepository,
  ) {}

  /** The same filter from a query string (list) or a body (bulk redrive), limited to the caller's tenant. */
  filterFromQuery(principal: Principal, query: Record<string, unknown>): StoredFilter {
    const filter: StoredFilter = {
      tenant_id: listTenant(principal, query),
      subscription_id: queryText(query, 'subscription_id', SUBSCRIPTION_ID_PATTERN, 'must be a whsub_ id'),
      event_type: queryText(query, 'event_type', EVENT_TYPE_PATTERN, 'must be a catalogue event type'),
      reason: queryText(query, 'reason', REASON_PATTERN, 'must be a failure reason such as exhausted or expired'),
      from: queryTime(query, 'from'),
      to: queryTime(query, 'to'),
    };
    return Object.fromEntries(Object.entries(filter).filter(([, value]) => value !== undefined));
  }

  list(filter: StoredFilter, page: PageRequest) {
    return this.deliveries.list({ ...toDeliveryFilter(filter), status: 'dead_lettered' }, page.afterId, page.limit);
  }

  /** A new run of the same workflow id for a dead letter, with a fresh schedule. */
  redrive(principal: Principal, id: string) {
    return recordedRerun(
      this.redriver,
      this.operatorActions,
      principal,
      id,
      { action: 'dead_letter.redrive', missing: 'dead_letter' },
      (status) =>
        new ApiError(
          HttpStatus.CONFLICT,
          'not_dead_lettered',
          `delivery ${id} is ${status}, not dead-lettered; nothing to redrive (resend takes any ended delivery)`,
        ),
    );
  }

  /** Starts a background redrive of every dead letter matching the filter (dead-lettered before now). */
  async bulkRedrive(principal: Principal, body: unknown) {
    const requested = bulkValidator.parseOptional(body);
    const filter: StoredFilter = { ...requested, tenant_id: tenantFor(principal, requested.tenant_id) };
    if (filter.tenant_id === undefined) delete filter.tenant_id;
    const created = await this.operatorActions.changeAndRecord(
      (client) => this.bulkRedrives.create(filter, principal.actor, client),
      (job) => ({
        tenantId: job.tenant_id,
        action: 'dead_letter.bulk_redrive',
        targetType: 'bulk_redrive',
        targetId: job.id,
        actor: principal.actor,
        details: { filter },
      }),
    );
    const { result: job, actionId } = created!;
    await this.operatorActions.carryOut(actionId, () => this.redriver.startBulk(job.id));
    return job;
  }

  async bulkRedriveStatus(principal: Principal, id: string) {
    const job = await this.bulkRedrives.get(id, scopeOf(principal));
    if (!job)
      throw new ApiError(
        HttpStatus.NOT_FOUND,
        'bulk_redrive_not_found',
        `no bulk redrive with id ${JSON.stringify(id)}`,
      );
    return job;
  }
}
