import { applyDecorators, UsePipes } from '@nestjs/common';
import { RouteSchema } from '@nestjs/platform-fastify';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiParam, ApiQuery, ApiResponse } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { errorSchema } from './error.schemas';
import { pageQuerySchemas } from './paging.schemas';
import { IdPatternPipe } from './validation';

/**
 * The schemas of the OpenAPI document's `components`, by name. A response component is the very object Fastify
 * serializes that route's answer with (fast-json-stringify: an answer missing a required field fails, a field the
 * schema does not name is never sent), so the document cannot drift from what the API sends.
 */
const COMPONENTS = new Map<string, object>();

export interface Component {
  name: string;
  schema: object;
  ref: { $ref: string };
}

export function component(name: string, schema: object): Component {
  const known = COMPONENTS.get(name);
  if (known !== undefined && known !== schema) throw new Error(`two OpenAPI components are named ${name}`);
  COMPONENTS.set(name, schema);
  return { name, schema, ref: { $ref: `#/components/schemas/${name}` } };
}

export function registeredComponents(): ReadonlyMap<string, object> {
  return COMPONENTS;
}

export const ErrorComponent = component('Error', errorSchema);

/** What each error status of this API means; every one of them answers the Error component. */
const ERROR_MEANINGS: Record<number, string> = {
  400: 'the request is malformed (invalid_json, validation_failed, invalid_query, invalid_id)',
  401: 'missing or invalid API key (unauthorized); for the portal: portal_header_required, portal_session_ended',
  403: 'the key may not do this (permission_denied, service_key_required, api_key_required)',
  404: 'no such resource, or one of another tenant',
  409: 'the resource is not in a state that allows this',
  413: 'the request body is over 256 KiB (payload_too_large)',
  415: 'the body is not JSON (unsupported_media_type)',
  422: 'well-formed but not acceptable: see the code',
  429: 'over a rate limit (rate_limited): publishes, test sends or secret rotations; Retry-After says when to try again',
  503: 'Postgres cannot be reached right now (database_unavailable); send the request again after Retry-After',
};

export interface OperationSpec {
  operationId: string;
  summary: string;
  /** The success status and what it answers (nothing for 204). */
  status: number;
  response?: Component;
  responseDescription?: string;
  body?: { schema: object; required: boolean; example?: unknown };
  /** Error statuses beyond 401 and 503 (every route) and 400 (every route with a path parameter). */
  errors?: number[];
  responseHeaders?: Record<string, { description: string; schema: object }>;
  /** OpenAPI links from the success answer: where its ids lead (operationId → parameter → runtime expression). */
  links?: Record<string, Record<string, string>>;
}

/**
 * One REST operation in the OpenAPI document: its id and summary, the bearer security scheme, the body as the
 * validator takes it, the success answer (declared and used for serialization) and every error status it can answer.
 */
export function Operation(spec: OperationSpec): MethodDecorator {
  const errors = new Set([401, 503, ...(spec.errors ?? [])]);
  const decorators: Array<MethodDecorator | ClassDecorator> = [
    ApiOperation({ operationId: spec.operationId, summary: spec.summary }),
    ApiBearerAuth(),
    ApiResponse({
      status: spec.status,
      description: spec.responseDescription ?? (spec.response ? spec.response.name : 'done; no body'),
      ...(spec.response ? { schema: spec.response.ref } : {}),
      ...(spec.responseHeaders ? { headers: spec.responseHeaders as never } : {}),
      ...(spec.links
        ? {
            links: Object.fromEntries(
              Object.entries(spec.links).map(([operationId, parameters]) => [operationId, { operationId, parameters }]),
            ) as never,
          }
        : {}),
    }),
    ...[...errors]
      .sort()
      .map((status) => ApiResponse({ status, description: ERROR_MEANINGS[status], schema: ErrorComponent.ref })),
  ];
  if (spec.body) {
    decorators.push(
      ApiBody({
        schema: spec.body.schema as SchemaObject,
        required: spec.body.required,
        ...(spec.body.example === undefined ? {} : { examples: { example: { value: spec.body.example } } }),
      }),
    );
  }
  if (spec.response) decorators.push(RouteSchema({ response: { [spec.status]: spec.response.schema } }));
  return applyDecorators(...decorators) as MethodDecorator;
}

/**
 * A path parameter: an id of this API, in the shape its pattern states (which bounds its length too). The document
 * states that pattern and IdPatternPipe holds the route to it: a value of another shape is 400 invalid_id.
 */
export function IdParam(name: string, description: string, pattern: RegExp): MethodDecorator {
  return applyDecorators(
    ApiParam({ name, description, schema: { type: 'string', pattern: pattern.source } }),
    UsePipes(new IdPatternPipe(name, pattern, description)),
    ApiResponse({ status: 400, description: ERROR_MEANINGS[400], schema: ErrorComponent.ref }),
  ) as MethodDecorator;
}

/** An optional query parameter with the schema the code checks it against. */
export function QueryParam(name: string, schema: object, description?: string): MethodDecorator {
  return ApiQuery({
    name,
    required: false,
    schema: schema as SchemaObject,
    ...(description ? { description } : {}),
  }) as MethodDecorator;
}

/** The query parameters of a cursor-paged list: limit, cursor and, where the list spans tenants, tenant_id. */
export function Paged(options: { tenant: boolean }): MethodDecorator {
  return applyDecorators(
    ...(options.tenant
      ? [
          QueryParam(
            'tenant_id',
            pageQuerySchemas.tenant_id,
            'a service key lists every tenant without it; a tenant key may name only its own',
          ),
        ]
      : []),
    QueryParam('limit', pageQuerySchemas.limit),
    QueryParam(
      'cursor',
      pageQuerySchemas.cursor,
      'next_cursor of the previous page, as answered; any other value is 400 invalid_query',
    ),
  ) as MethodDecorator;
}
