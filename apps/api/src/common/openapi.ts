import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiResponse } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

/** The OpenAPI body of a route is the very JSON Schema its validator enforces, so the two cannot drift. */
export const JsonBody = (schema: unknown) => ApiBody({ schema: schema as SchemaObject });

const errorSchema: SchemaObject = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} },
    },
  },
};

export const ApiErrors = (...statuses: number[]) =>
  applyDecorators(
    ApiBearerAuth(),
    ApiResponse({ status: 401, description: 'missing or invalid API key', schema: errorSchema }),
    ...statuses.map((status) => ApiResponse({ status, schema: errorSchema })),
  );
