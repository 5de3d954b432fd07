import { api, ok, type Schemas } from '../api';
import { Failure, Json, Loading, Section, useLoad } from '../ui';

type EventType = Schemas['EventTypeList']['data'][number];
type Catalogue = { data?: EventType[]; error?: import('../api').ApiFailure };

let cached: Promise<EventType[]> | undefined;

/** The 26 event types, fetched once per page load. */
export function useCatalogue(): Catalogue {
  return useLoad(() => (cached ??= ok(api.GET('/v1/event-types')).then((list) => list.data)), []);
}

/** Checkboxes for the catalogue with each type's description, plus "everything". */
export function EventTypePicker({
  catalogue,
  selected,
  onChange,
  legend,
}: {
  catalogue: Catalogue;
  selected: string[];
  onChange: (types: string[]) => void;
  legend: string;
}) {
  const toggle = (name: string, on: boolean) =>
    onChange(on ? [...selected.filter((t) => t !== name), name] : selected.filter((t) => t !== name));
  return (
    <fieldset class="picker">
      <legend>{legend}</legend>
      <Failure error={catalogue.error} />
      <label class="check">
        <input
          type="checkbox"
          checked={selected.includes('*')}
          onChange={(e) => toggle('*', e.currentTarget.checked)}
        />{' '}
        <strong>Every event</strong> (*)
      </label>
      {(catalogue.data ?? []).map((type) => (
        <label class="check" key={type.name}>
          <input
            type="checkbox"
            checked={selected.includes(type.name)}
            onChange={(e) => toggle(type.name, e.currentTarget.checked)}
          />{' '}
          <code>{type.name}</code>
          <span class="muted"> {type.description}</span>
        </label>
      ))}
    </fieldset>
  );
}

const VERIFY_SNIPPET = `// npm install standardwebhooks   (or @intelliauth/webhooks-receiver)
import { Webhook } from 'standardwebhooks';

// The subscription's signing secret, as shown once: whsec_…
const webhook = new Webhook(process.env.WEBHOOK_SECRET);

app.post('/webhooks', express.raw({ type: 'application/json' }), (req, res) => {
  // Checks webhook-signature (HMAC-SHA256 over "id.timestamp.body") and the timestamp's age.
  const event = webhook.verify(req.body, req.headers);   // throws when forged or stale
  // Deliveries are at least once: dedupe on event.event_id (also the webhook-id header).
  res.sendStatus(204);
});

// The IntelliAuth signature: X-IntelliAuth-Signature = hex HMAC-SHA256 of the exact body bytes, keyed with the
// base64-decoded part of the secret after "whsec_". Compare in constant time (crypto.timingSafeEqual).`;

export function CataloguePage() {
  const catalogue = useCatalogue();
  return (
    <>
      <h1>Event catalogue</h1>
      <Section title="Verify a signature">
        <p>
          Every delivery is signed with the subscription's secret twice: the Standard Webhooks headers (
          <code>webhook-id</code>, <code>webhook-timestamp</code>, <code>webhook-signature</code>) and the IntelliAuth
          signature, <code>X-IntelliAuth-Signature</code>. During a rotation's grace period each valid secret signs.
        </p>
        <pre class="code" tabIndex={0} aria-label="Receiver code that verifies a signature">
          {VERIFY_SNIPPET}
        </pre>
      </Section>
      <Failure error={catalogue.error} />
      {!catalogue.data && !catalogue.error && <Loading />}
      {catalogue.data?.map((type) => (
        <section class="card" key={type.name} id={`type-${type.name}`}>
          <h2>
            <code>{type.name}</code>
          </h2>
          <p>{type.description}</p>
          <details>
            <summary>
              <code>data</code> schema
            </summary>
            <Json label={`data schema of ${type.name}`} value={type.data_schema} />
          </details>
          <details>
            <summary>Example</summary>
            <Json label={`example data of ${type.name}`} value={type.example} />
          </details>
        </section>
      ))}
    </>
  );
}
