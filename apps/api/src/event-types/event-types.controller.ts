import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { EVENT_CATEGORIES } from '../../../../libs/contracts/catalogue';
import { EVENT_TYPE_DEFINITIONS } from '../../../../libs/contracts/event-schemas';
import { ApiErrors } from '../common/openapi';

@ApiTags('event-types')
@Controller('v1/event-types')
export class EventTypesController {
  /** The catalogue: each type's meaning, the JSON Schema its `data` must satisfy on publish, and an example. */
  @Get()
  @ApiErrors()
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
