// @ts-check

/**
 * Sends a catalogue example of an event type. With a service key it is published to `tenant` (every matching
 * subscription gets it, listen sessions included); with a tenant key or portal session, which cannot publish, it is test-sent to the
 * tenant's listen session (the newest, unless one is named), through the session's tool to the local receiver.
 * @param {import('./api').Api} api
 * @param {string} eventType
 * @param {{ tenant?: string, session?: string }} options
 * @param {{ out: (line: string) => void, err: (line: string) => void }} print
 * @returns {Promise<number>} the exit code
 */
async function trigger(api, eventType, options, print) {
  if (!api.forOneTenant) {
    if (options.tenant === undefined) {
      print.err('A service key publishes to a tenant: name it with --tenant <tenant id>.');
      return 2;
    }
    const { data } = await api.call('GET', '/v1/event-types');
    const definition = data.find((/** @type {{ name: string }} */ type) => type.name === eventType);
    if (definition === undefined) {
      print.err(`${eventType} is not in the catalogue; GET /v1/event-types lists its types.`);
      return 2;
    }
    const published = await api.call('POST', '/v1/events', {
      event_type: eventType,
      tenant: { id: options.tenant },
      actor: { kind: 'system', id: 'intelliauth-webhooks-cli' },
      data: definition.example,
    });
    print.out(
      `Published ${eventType} ${published.event_id} to ${options.tenant}: ${published.deliveries.length} deliveries`,
    );
    return 0;
  }
  let session = options.session;
  if (session === undefined) {
    const { data } = await api.call('GET', '/v1/listen-sessions');
    if (data.length === 0) {
      print.err(
        'This tenant has no listen session: start `intelliauth-webhooks listen` first, or name one with --session.',
      );
      return 2;
    }
    session = /** @type {string} */ (data[0].id);
  }
  const sent = await api.call('POST', `/v1/subscriptions/${session}/test`, { event_type: eventType });
  const outcome = sent.status_code === null ? `no answer (${sent.error})` : `answered ${sent.status_code}`;
  print.out(`Test-sent ${eventType} ${sent.event_id} to listen session ${session}: the local receiver ${outcome}`);
  return sent.delivered ? 0 : 1;
}

module.exports = { trigger };
