import { Body, Controller, Get, HttpCode, Param, Post, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Caller } from '../auth/api-key.guard';
import { Principal } from '../auth/principal';
import { ApiErrors, JsonBody } from '../common/openapi';
import { publishEventSchema } from './event.schemas';
import { EventsService } from './events.service';
import { PublishService } from './publish.service';

@ApiTags('events')
@Controller('v1/events')
export class EventsController {
  constructor(
    private readonly publisher: PublishService,
    private readonly events: EventsService,
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
    const { event, received_at, deliveries } = await this.events.get(caller, eventId);
    return { ...event, received_at, deliveries };
  }
}
