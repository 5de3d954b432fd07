/** The body of every error answer (ApiError.toBody), REST and the router's own refusals alike. */
export const errorSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      additionalProperties: false,
      required: ['code', 'message'],
      properties: {
        code: {
          type: 'string',
          description: 'stable and machine-readable, e.g. unknown_event_type',
          examples: ['validation_failed'],
        },
        message: { type: 'string', description: 'what to fix, for a person' },
        details: {
          description:
            'what the code carries: the fields and problems of validation_failed, the valid names of unknown_event_type…',
        },
      },
    },
  },
  examples: [
    {
      error: {
        code: 'validation_failed',
        message: 'the event is invalid: data is required',
        details: [{ field: 'data', problem: 'is required' }],
      },
    },
  ],
} as const;
