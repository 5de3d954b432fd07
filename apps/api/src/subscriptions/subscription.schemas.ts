export const MAX_URL_LENGTH = 2048;

const tenantId = { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:-]+$' } as const;
const url = { type: 'string', minLength: 1, maxLength: MAX_URL_LENGTH, description: 'http(s) URL the deliveries are POSTed to' } as const;
const eventTypes = {
  type: 'array',
  minItems: 1,
  maxItems: 100,
  items: { type: 'string', minLength: 1, maxLength: 100 },
  description: 'catalogue names, "category.*" or "*"',
} as const;

export const createSubscriptionSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['tenant_id', 'url', 'event_types'],
  properties: {
    tenant_id: tenantId,
    url,
    event_types: eventTypes,
    description: { type: 'string', maxLength: 1024 },
  },
} as const;

export const updateSubscriptionSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    url,
    event_types: eventTypes,
    description: { type: ['string', 'null'], maxLength: 1024 },
    enabled: { type: 'boolean' },
  },
} as const;

export interface CreateSubscriptionBody {
  tenant_id: string;
  url: string;
  event_types: string[];
  description?: string;
}

export interface UpdateSubscriptionBody {
  url?: string;
  event_types?: string[];
  description?: string | null;
  enabled?: boolean;
}
