import { Body, Controller, Get, HttpCode, Param, Post, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { EVENT_ID_PATTERN } from '../../../../libs/contracts/ids';
import { ApiMetrics } from '../../../../libs/observability/metrics';
import { Caller } from '../auth/api-key.guard';
import { Principal } from '../auth/principal';
import { component, IdParam, Operation } from '../common/openapi';
import {
  eventSchema,
  idempotentReplayedHeaderSchema,
  publishEventDocumentSchema,
  publishResultSchema,
} from './event.schemas';
import { EventsService } from './events.service';
import { PublishService } from './publish.service';

const PublishResult = component('PublishResult', publishResultSchema);
const Event = component('Event', eventSchema);
component('PublishEventRequest', publishEventDocumentSchema);

@ApiTags('events')
@Controller('v1/events')
export class EventsController {
  constructor(
    private readonly publisher: PublishService,
    private readonly metrics: ApiMetrics,
    private readonly events: EventsService,
  ) {}

  @Post()
  @HttpCode(202)
  @Operation({
    operationId: 'publishEvent',
    summary:
      'Publish an event (service keys): stores it and one delivery per matching subscription, idempotent on event_id',
    status: 202,
    response: PublishResult,
    links: {
      getEvent: { eventId: '$response.body#/event_id' },
      getDelivery: { id: '$response.body#/deliveries/0/id' },
    },
    responseDescription:
      'stored; the deliveries run from here. The same event_id with the same content answers the same again, with idempotent-replayed: true',
    responseHeaders: {
      'idempotent-replayed': {
        description: '"true" when an earlier publish of this event_id answered already',
        schema: idempotentReplayedHeaderSchema,
      },
    },
    body: {
      schema: publishEventDocumentSchema,
      required: true,
      example: {
        event_type: 'user.signed_up',
        tenant: { id: 'tnt_acme', slug: 'acme' },
        actor: { kind: 'user', id: 'usr_1', email: 'anita@example.com' },
        data: { user: { id: 'usr_1', email: 'anita@example.com' } },
      },
    },
    errors: [400, 403, 409, 413, 415, 422, 429],
  })
  async publish(@Caller() caller: Principal, @Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const { result, replayed } = await this.publisher.publish(caller, body);
    if (replayed) void reply.header('idempotent-replayed', 'true');
    this.metrics.published('rest', replayed ? 'replayed' : 'accepted', null, reply.elapsedTime);
    return result;
  }

  @Get(':eventId')
  @Operation({
    operationId: 'getEvent',
    summary: 'Get an event as published, with its deliveries and their status',
    status: 200,
    response: Event,
    errors: [404],
  })
  @IdParam('eventId', 'an event id (evt_…)', EVENT_ID_PATTERN)
  async get(@Caller() caller: Principal, @Param('eventId') eventId: string) {
    const { event, ordering_key, received_at, deliveries } = await this.events.get(caller, eventId);
    return { ...event, ordering_key, received_at, deliveries };
  }
}
