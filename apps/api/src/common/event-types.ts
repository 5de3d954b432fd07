import { HttpStatus } from '@nestjs/common';
import { EVENT_CATEGORIES, EVENT_TYPES, EventType, isEventType, isEventTypeFilter } from '../../../../libs/contracts/catalogue';
import { ApiError } from './api-error';

export function requireEventType(value: string): EventType {
  if (isEventType(value)) return value;
  throw new ApiError(HttpStatus.UNPROCESSABLE_ENTITY, 'unknown_event_type', `"${value}" is not in the event catalogue; use one of the valid_event_types`, {
    valid_event_types: EVENT_TYPES,
  });
}

export function requireEventTypeFilters(values: string[]): string[] {
  const unknown = values.filter((value) => !isEventTypeFilter(value));
  if (unknown.length === 0) return [...new Set(values)];
  throw new ApiError(
    HttpStatus.UNPROCESSABLE_ENTITY,
    'unknown_event_type',
    `event_types has entries that are not catalogue names, "category.*" or "*": ${unknown.map((v) => JSON.stringify(v)).join(', ')}`,
    { unknown, valid_event_types: EVENT_TYPES, valid_categories: EVENT_CATEGORIES.map((c) => `${c}.*`) },
  );
}
