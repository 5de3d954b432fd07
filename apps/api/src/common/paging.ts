import { HttpStatus } from '@nestjs/common';
import { decodeCursor } from '../../../../libs/db/page';
import { ApiError } from './api-error';

export interface PageRequest {
  afterId: string | undefined;
  limit: number;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

export function pageRequest(query: { limit?: string; cursor?: string }): PageRequest {
  let limit = DEFAULT_PAGE_SIZE;
  if (query.limit !== undefined) {
    limit = Number(query.limit);
    if (!/^\d+$/.test(query.limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
      throw new ApiError(
        HttpStatus.BAD_REQUEST,
        'invalid_query',
        `limit must be a whole number from 1 to ${MAX_PAGE_SIZE}`,
      );
    }
  }
  let afterId: string | undefined;
  if (query.cursor !== undefined) {
    afterId = decodeCursor(query.cursor);
    if (afterId === undefined)
      throw new ApiError(
        HttpStatus.BAD_REQUEST,
        'invalid_query',
        'cursor is not one this API issued; pass next_cursor from the previous page',
      );
  }
  return { afterId, limit };
}

/** One optional query string parameter, which must be a single short value if present. */
export function queryText(
  query: Record<string, unknown>,
  name: string,
  pattern: RegExp,
  hint: string,
): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new ApiError(HttpStatus.BAD_REQUEST, 'invalid_query', `${name} ${hint}`);
  }
  return value;
}

/** `category.name`, or `webhook.entity.name` for the operational events. */
export const EVENT_TYPE_PATTERN = /^(webhook\.[a-z_]+|[a-z_]+)\.[a-z_]+$/;

const TIME_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/;

/** A time parameter: RFC 3339 in shape and a real date (2026-99-99 has the shape). */
export function queryTime(query: Record<string, unknown>, name: string): string | undefined {
  const hint = 'must be an RFC 3339 time, e.g. 2026-05-17T08:00:00Z';
  const value = queryText(query, name, TIME_PATTERN, hint);
  if (value !== undefined && !Number.isFinite(Date.parse(value)))
    throw new ApiError(HttpStatus.BAD_REQUEST, 'invalid_query', `${name} ${hint}`);
  return value;
}
