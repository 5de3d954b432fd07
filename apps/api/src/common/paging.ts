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
      throw new ApiError(HttpStatus.BAD_REQUEST, 'invalid_query', `limit must be a whole number from 1 to ${MAX_PAGE_SIZE}`);
    }
  }
  let afterId: string | undefined;
  if (query.cursor !== undefined) {
    afterId = decodeCursor(query.cursor);
    if (afterId === undefined) throw new ApiError(HttpStatus.BAD_REQUEST, 'invalid_query', 'cursor is not one this API issued; pass next_cursor from the previous page');
  }
  return { afterId, limit };
}

/** One optional query string parameter, which must be a single short value if present. */
export function queryText(query: Record<string, unknown>, name: string, pattern: RegExp, hint: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new ApiError(HttpStatus.BAD_REQUEST, 'invalid_query', `${name} ${hint}`);
  }
  return value;
}

export function requiredQueryText(query: Record<string, unknown>, name: string, pattern: RegExp, hint: string): string {
  const value = queryText(query, name, pattern, hint);
  if (value === undefined) throw new ApiError(HttpStatus.BAD_REQUEST, 'invalid_query', `${name} is required`);
  return value;
}

export const TENANT_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
