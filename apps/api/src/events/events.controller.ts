import { Body, Controller, Get, HttpCode, Param, Post, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { EventsRepository } from '../../../../libs/db/events.repository';
import { DeliveriesRepository } from '../../../../libs/db/deliveries.repository';
import { Caller } from '../auth/api-key.guard';
import { Principal, scopeOf } from '../auth/principal';
import { ApiError } from '../common/api-error';
import { ApiErrors, JsonBody } from '../common/openapi';
import { publishEventSchema } from './event.schemas';
import { PublishService } from './publish.service';

@ApiTags('events')
@Controller('v1/events')
export class EventsController {
  constructor(
    private readonly publisher: PublishService,
    private readonly events: EventsRepository,
    private readonly deliveries: DeliveriesRepository,
  ) {}

  @Post()
  @HttpCode(202)
  @JsonBody(publishEventSchema)
  @ApiErrors(400, 403, 409, 413, 422)
  async publish(@Caller() caller: Principal, @Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const { result, replayed } = await this.publisher.publish(caller, body);
    if (replayed) void reply.header('idempotent-replayed', 'true');
    return result;
  }

  @Get(':eventId')
  @ApiErrors(404)
  async get(@Caller() caller: Principal, @Param('eventId') eventId: string) {
    const record = await this.events.get(eventId, scopeOf(caller));
    if (!record) throw ApiError.notFound('event', eventId);
    return { ...record.event, received_at: record.received_at, deliveries: await this.deliveries.listByEvent(eventId) };
  }
}
