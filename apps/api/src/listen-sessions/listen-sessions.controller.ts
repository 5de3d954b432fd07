import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { LISTEN_REQUEST_ID_PATTERN, SUBSCRIPTION_ID_PATTERN } from '../../../../libs/contracts/ids';
import { Caller } from '../auth/api-key.guard';
import { Principal } from '../auth/principal';
import { pageQuerySchemas } from '../common/paging.schemas';
import { component, IdParam, Operation, QueryParam } from '../common/openapi';
import { withCatalogue } from '../event-types/event-type.schemas';
import {
  createdListenSessionSchema,
  createListenSessionSchema,
  listenAnswerResultSchema,
  listenAnswerSchema,
  listenRequestsSchema,
  listenSessionListSchema,
} from './listen-session.schemas';
import { ListenSessionsService, MAX_LISTED, MAX_POLL_WAIT_SECONDS } from './listen-sessions.service';

const CreatedListenSession = component('CreatedListenSession', createdListenSessionSchema);
const ListenSessionList = component('ListenSessionList', listenSessionListSchema);
const ListenRequests = component('ListenRequests', listenRequestsSchema);
const ListenAnswerResult = component('ListenAnswerResult', listenAnswerResultSchema);
const SessionId = () => IdParam('id', 'a listen session id (whsub_…, the subscription it is)', SUBSCRIPTION_ID_PATTERN);

/**
 * Listen sessions, which `intelliauth-webhooks listen` opens, polls, answers and ends: a tenant's developer sees the
 * tenant's deliveries on a receiver on their own machine, with no public URL.
 */
@ApiTags('listen-sessions')
@Controller('v1/listen-sessions')
export class ListenSessionsController {
  constructor(private readonly sessions: ListenSessionsService) {}

  @Post()
  @Operation({
    operationId: 'createListenSession',
    summary:
      'Open a listen session: a subscription whose deliveries the tool fetches and forwards; answers its signing secret, once',
    status: 201,
    response: CreatedListenSession,
    // Not to the long poll: a client following links would wait out each one.
    links: { deleteListenSession: { id: '$response.body#/id' } },
    body: {
      // Documented as required, as for a subscription: a tenant key may leave tenant_id out, a service key must not.
      schema: {
        ...withCatalogue(createListenSessionSchema),
        required: ['tenant_id', ...createListenSessionSchema.required],
      },
      required: true,
      example: { tenant_id: 'tnt_acme', event_types: ['user.*'], forward_to: 'http://localhost:3000/hooks' },
    },
    errors: [400, 403, 413, 415, 422],
  })
  create(@Caller() caller: Principal, @Body() body: unknown) {
    return this.sessions.create(caller, body);
  }

  @Get()
  @Operation({
    operationId: 'listListenSessions',
    summary: `The live listen sessions, newest first, at most ${MAX_LISTED} (a service key sees every tenant unless tenant_id is given)`,
    status: 200,
    response: ListenSessionList,
    errors: [400, 403],
  })
  @QueryParam('tenant_id', pageQuerySchemas.tenant_id)
  list(@Caller() caller: Principal, @Query() query: Record<string, string>) {
    return this.sessions.list(caller, query);
  }

  @Delete(':id')
  @HttpCode(204)
  @Operation({
    operationId: 'deleteListenSession',
    summary: 'End a listen session; its waiting deliveries end as dead letters (subscription_deleted)',
    status: 204,
    errors: [404],
  })
  @SessionId()
  async delete(@Caller() caller: Principal, @Param('id') id: string): Promise<void> {
    await this.sessions.end(caller, id);
  }

  @Get(':id/requests')
  @Operation({
    operationId: 'pollListenSession',
    summary: 'Long poll: the signed requests handed to the session, each answered once; keeps the session alive',
    status: 200,
    response: ListenRequests,
    errors: [404],
  })
  @SessionId()
  @QueryParam(
    'wait_seconds',
    { type: 'integer', minimum: 0, maximum: MAX_POLL_WAIT_SECONDS },
    'how long to wait for a first request (default and cap: the lesser of 20 and half LISTEN_SESSION_TTL)',
  )
  poll(@Caller() caller: Principal, @Param('id') id: string, @Query() query: Record<string, string>) {
    return this.sessions.poll(caller, id, query);
  }

  @Post(':id/requests/:requestId/answer')
  @HttpCode(200)
  @Operation({
    operationId: 'answerListenRequest',
    summary: "Report what the local receiver answered; the attempt records it as the receiver's answer",
    status: 200,
    response: ListenAnswerResult,
    body: {
      schema: listenAnswerSchema,
      required: true,
      example: { status_code: 200, duration_ms: 12, response_excerpt: 'ok' },
    },
    errors: [404, 413, 415],
  })
  @SessionId()
  @IdParam('requestId', 'a listen request id (lreq_…)', LISTEN_REQUEST_ID_PATTERN)
  answer(
    @Caller() caller: Principal,
    @Param('id') id: string,
    @Param('requestId') requestId: string,
    @Body() body: unknown,
  ) {
    return this.sessions.answer(caller, id, requestId, body);
  }
}
