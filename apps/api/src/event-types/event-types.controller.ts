import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { EVENT_CATEGORIES, EVENT_TYPES } from '../../../../libs/contracts/catalogue';
import { ApiErrors } from '../common/openapi';

@ApiTags('event-types')
@Controller('v1/event-types')
export class EventTypesController {
  @Get()
  @ApiErrors()
  list() {
    return {
      data: EVENT_TYPES.map((name) => ({ name, category: name.split('.')[0] })),
      filters: ['*', ...EVENT_CATEGORIES.map((category) => `${category}.*`)],
    };
  }
}
