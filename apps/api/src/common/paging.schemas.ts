import { TENANT_ID_PATTERN } from '../../../../libs/contracts/ids';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './paging';

/** The query parameters of a cursor-paged list, as pageRequest and listTenant check them. */
export const pageQuerySchemas = {
  tenant_id: { type: 'string', pattern: TENANT_ID_PATTERN.source },
  limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE },
  cursor: { type: 'string', minLength: 1 },
} as const;
