import { Injectable } from '@nestjs/common';
import { DeliveriesRepository } from '../../../../libs/db/deliveries.repository';
import { EventsRepository } from '../../../../libs/db/events.repository';
import { Principal, scopeOf } from '../auth/principal';
import { ApiError } from '../common/api-error';

/** Reading a published event with its deliveries, for REST and gRPC alike. */
@Injectable()
export class EventsService {
  constructor(
    private readonly events: EventsRepository,
    private readonly deliveries: DeliveriesRepository,
  ) {}

  async get(principal: Principal, eventId: string) {
    const record = await this.events.get(eventId, scopeOf(principal));
    if (!record) throw ApiError.notFound('event', eventId);
    return { ...record, deliveries: await this.deliveries.listByEvent(eventId, scopeOf(principal)) };
  }
}
