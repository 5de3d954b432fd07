import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { EVENT_CATEGORIES } from '../../../../libs/contracts/catalogue';
import { EVENT_TYPE_DEFINITIONS } from '../../../../libs/contracts/event-data-schemas';
import { component, Operation } from '../common/openapi';
import { eventTypeListSchema } from './event-type.schemas';

const EventTypeList = component('EventTypeList', eventTypeListSchema);

@ApiTags('event-types')
@Controller('v1/event-types')
export class EventTypesController {
  /** The catalogue: each type's meaning, the JSON Schema its `data` must satisfy on publish, and an example. */
  @Get()
  @Operation({
    operationId: 'listEventTypes',
    summary: 'The event catalogue: each type with its description, data schema and example',
    status: 200,
    response: EventTypeList,
  })
  list() {
    return {
      data: EVENT_TYPE_DEFINITIONS.map((definition) => ({
        name: definition.name,
        category: definition.name.split('.')[0],
        description: definition.description,
        data_schema: definition.dataSchema,
        example: definition.example,
      })),
      filters: ['*', ...EVENT_CATEGORIES.map((category) => `${category}.*`)],
    };
  }
}
