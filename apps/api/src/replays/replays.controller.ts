import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { REPLAY_ID_PATTERN, SUBSCRIPTION_ID_PATTERN } from '../../../../libs/contracts/ids';
import { Caller } from '../auth/api-key.guard';
import { Principal } from '../auth/principal';
import { component, IdParam, Operation } from '../common/openapi';
import { withCatalogue } from '../event-types/event-type.schemas';
import { replaySchema, replayRequestSchema } from './replay.schemas';
import { ReplaysService } from './replays.service';

const Replay = component('Replay', replaySchema);

/** Replays: a subscription's past events in a window, delivered again by a background job. */
@ApiTags('replays')
@Controller('v1')
export class ReplaysController {
  constructor(private readonly replays: ReplaysService) {}

  @Post('subscriptions/:id/replay')
  @HttpCode(202)
  @Operation({
    operationId: 'replaySubscription',
    summary:
      'Deliver again every event of the window the subscription matches now (or only its dead letters), in the background; answers the job to poll',
    status: 202,
    response: Replay,
    links: { getReplay: { id: '$response.body#/id' } },
    body: {
      schema: withCatalogue(replayRequestSchema),
      required: true,
      example: { from: '2026-05-12T00:00:00Z', to: '2026-05-13T00:00:00Z', only_failed: true },
    },
    errors: [400, 404, 409, 413, 415, 422],
  })
  @IdParam('id', 'a subscription id (whsub_…)', SUBSCRIPTION_ID_PATTERN)
  replay(@Caller() caller: Principal, @Param('id') id: string, @Body() body: unknown) {
    return this.replays.replay(caller, id, body);
  }

  @Get('replays/:id')
  @Operation({
    operationId: 'getReplay',
    summary: 'Where a replay stands: matched, delivered, failed, pending, status',
    status: 200,
    response: Replay,
    errors: [404],
  })
  @IdParam('id', 'a replay id (rply_…)', REPLAY_ID_PATTERN)
  get(@Caller() caller: Principal, @Param('id') id: string) {
    return this.replays.get(caller, id);
  }
}
