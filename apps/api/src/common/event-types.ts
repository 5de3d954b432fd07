import { HttpStatus } from '@nestjs/common';
import {
  EVENT_CATEGORIES,
  EVENT_TYPES,
  EventType,
  isEventType,
  isEventTypeFilter,
  isOperationalEventType,
  isOperationalFilter,
  OPERATIONAL_CATEGORY,
} from '../../../../libs/contracts/catalogue';
import { ApiError } from './api-error';

export function requireEventType(value: string): EventType {
  if (isEventType(value)) return value;
  throw new ApiError(
    HttpStatus.UNPROCESSABLE_ENTITY,
    'unknown_event_type',
    `"${value}" is not in the event catalogue; use one of the valid_event_types`,
    {
      valid_event_types: EVENT_TYPES,
    },
  );
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

/** What a publisher may send: a catalogue type that is not one of the service's own operational events. */
export function requirePublishableEventType(value: string): EventType {
  const eventType = requireEventType(value);
  if (!isOperationalEventType(eventType)) return eventType;
  throw new ApiError(
    HttpStatus.UNPROCESSABLE_ENTITY,
    'operational_event_type',
    `${eventType} is an operational event: the service emits ${OPERATIONAL_CATEGORY}.* events itself, ` +
      `about a tenant's subscriptions and deliveries; they cannot be published`,
  );
}

/** The platform tenant's subscriptions receive operational events only, so they may name nothing else. */
export function requireOperationalFilters(values: string[], platformTenantId: string): string[] {
  const other = values.filter((value) => !isOperationalFilter(value));
  if (other.length === 0) return values;
  throw new ApiError(
    HttpStatus.UNPROCESSABLE_ENTITY,
    'operational_events_only',
    `subscriptions of the platform tenant ${platformTenantId} receive the operational events of every tenant ` +
      `and nothing else: name "${OPERATIONAL_CATEGORY}.*" or ${OPERATIONAL_CATEGORY}.* types, ` +
      `not ${other.map((v) => JSON.stringify(v)).join(', ')}`,
    {
      unknown: other,
      valid_event_types: EVENT_TYPES.filter(isOperationalEventType),
      valid_categories: [`${OPERATIONAL_CATEGORY}.*`],
    },
  );
}
