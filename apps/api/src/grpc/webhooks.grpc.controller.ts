import { Controller, HttpStatus } from '@nestjs/common';
import { GrpcMethod, Payload } from '@nestjs/microservices';
import { DeliveryView } from '../../../../libs/db/deliveries.repository';
import { Caller } from '../auth/api-key.guard';
import { Principal } from '../auth/principal';
import { ApiError } from '../common/api-error';
import { pageRequest } from '../common/paging';
import { BODY_LIMIT_BYTES, requireStorableId } from '../common/validation';
import { DeadLettersService } from '../dead-letters/dead-letters.service';
import { DeliveriesService } from '../deliveries/deliveries.service';
import { EventsService } from '../events/events.service';
import { ApiMetrics } from '../../../../libs/observability/metrics';
import { PublishService } from '../events/publish.service';
import { ReplaysService } from '../replays/replays.service';
import { jsonToStruct, Struct, structToJson } from './struct';

/** proto3 has no "unset" for strings and numbers: "" and 0 mean absent, as REST's missing fields do. */
function present<T>(value: T | '' | 0 | null | undefined): T | undefined {
  return value === '' || value === 0 || value === null || value === undefined ? undefined : value;
}

/** Rows in the proto's shape: times as RFC 3339 strings, nulls left out. */
function toMessage(row: object): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(row)
      .filter(([, value]) => value !== null && value !== undefined)
      .map(([key, value]) => [key, value instanceof Date ? value.toISOString() : value]),
  );
}

function deliveryMessage(delivery: DeliveryView & { attempts?: object[] }) {
  return { ...toMessage(delivery), attempts: (delivery.attempts ?? []).map(toMessage) };
}

interface PublishRequest {
  event_id?: string;
  event_type?: string;
  occurred_at?: string;
  tenant?: { id?: string; slug?: string };
  actor?: Struct;
  data?: Struct;
  ordering_key?: string;
}

/** The gRPC face of the same services REST uses: requests become the REST body or query shapes, then the same code runs. */
@Controller()
export class WebhooksGrpcController {
  constructor(
    private readonly publisher: PublishService,
    private readonly metrics: ApiMetrics,
    private readonly deliveries: DeliveriesService,
    private readonly deadLetters: DeadLettersService,
    private readonly events: EventsService,
    private readonly replays: ReplaysService,
  ) {}

  @GrpcMethod('WebhooksService', 'Publish')
  async publish(@Payload() request: PublishRequest, @Caller() caller: Principal) {
    const started = performance.now();
    const body: Record<string, unknown> = {
      event_id: present(request.event_id),
      event_type: present(request.event_type),
      occurred_at: present(request.occurred_at),
      tenant: request.tenant && {
        id: request.tenant.id ?? '',
        ...(present(request.tenant.slug) ? { slug: request.tenant.slug } : {}),
      },
      actor: request.actor && structToJson(request.actor),
      data: request.data && structToJson(request.data),
      ordering_key: present(request.ordering_key),
    };
    const event = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
    // The same 256 KiB cap as a REST body (413 there): an event is as large whichever way it arrives.
    if (Buffer.byteLength(JSON.stringify(event), 'utf8') > BODY_LIMIT_BYTES) {
      throw new ApiError(
        HttpStatus.PAYLOAD_TOO_LARGE,
        'payload_too_large',
        'the event is over the 256 KiB limit; send a smaller data object',
      );
    }
    const { result, replayed } = await this.publisher.publish(caller, event);
    this.metrics.published('grpc', replayed ? 'replayed' : 'accepted', null, performance.now() - started);
    return { ...result, replayed };
  }

  @GrpcMethod('WebhooksService', 'GetEvent')
  async getEvent(@Payload() request: { event_id?: string }, @Caller() caller: Principal) {
    const { event, received_at, deliveries } = await this.events.get(
      caller,
      requireStorableId(request.event_id ?? '', 'event_id'),
    );
    return {
      ...toMessage({
        event_id: event.event_id,
        event_type: event.event_type,
        occurred_at: event.occurred_at,
        tenant: event.tenant,
        received_at,
      }),
      actor: event.actor && jsonToStruct(event.actor),
      data: jsonToStruct(event.data),
      deliveries: deliveries.map(deliveryMessage),
    };
  }

  @GrpcMethod('WebhooksService', 'GetDelivery')
  async getDelivery(@Payload() request: { id?: string }, @Caller() caller: Principal) {
    return deliveryMessage(await this.deliveries.get(caller, requireStorableId(request.id ?? '', 'id')));
  }

  @GrpcMethod('WebhooksService', 'ListDeliveries')
  async listDeliveries(@Payload() request: Record<string, string | number | undefined>, @Caller() caller: Principal) {
    const query = Object.fromEntries(
      Object.entries(request).flatMap(([key, value]) => (present(value) === undefined ? [] : [[key, String(value)]])),
    );
    const page = await this.deliveries.list(this.deliveries.filterFromQuery(caller, query), pageRequest(query));
    return { deliveries: page.data.map(deliveryMessage), next_cursor: page.next_cursor ?? '' };
  }

  @GrpcMethod('WebhooksService', 'CancelDelivery')
  cancelDelivery(@Payload() request: { id?: string; reason?: string }, @Caller() caller: Principal) {
    return this.deliveries.cancel(
      caller,
      requireStorableId(request.id ?? '', 'id'),
      present(request.reason) ? { reason: request.reason } : {},
    );
  }

  @GrpcMethod('WebhooksService', 'RetryDelivery')
  retryDelivery(@Payload() request: { id?: string }, @Caller() caller: Principal) {
    return this.deliveries.retryNow(caller, requireStorableId(request.id ?? '', 'id'));
  }

  @GrpcMethod('WebhooksService', 'RedriveDeadLetter')
  redriveDeadLetter(@Payload() request: { id?: string }, @Caller() caller: Principal) {
    return this.deadLetters.redrive(caller, requireStorableId(request.id ?? '', 'id'));
  }

  @GrpcMethod('WebhooksService', 'ResendDelivery')
  resendDelivery(@Payload() request: { id?: string }, @Caller() caller: Principal) {
    return this.deliveries.resend(caller, requireStorableId(request.id ?? '', 'id'));
  }

  @GrpcMethod('WebhooksService', 'ReplaySubscription')
  async replaySubscription(
    @Payload()
    request: { subscription_id?: string; from?: string; to?: string; event_types?: string[]; only_failed?: boolean },
    @Caller() caller: Principal,
  ) {
    const body = {
      from: present(request.from),
      to: present(request.to),
      event_types: request.event_types?.length ? request.event_types : undefined,
      only_failed: request.only_failed ?? false,
    };
    const replay = await this.replays.replay(
      caller,
      requireStorableId(request.subscription_id ?? '', 'subscription_id'),
      Object.fromEntries(Object.entries(body).filter(([, value]) => value !== undefined)),
    );
    return toMessage(replay);
  }

  @GrpcMethod('WebhooksService', 'GetReplay')
  async getReplay(@Payload() request: { id?: string }, @Caller() caller: Principal) {
    return toMessage(await this.replays.get(caller, requireStorableId(request.id ?? '', 'id')));
  }
}
