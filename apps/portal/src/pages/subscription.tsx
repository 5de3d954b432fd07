import { useState } from 'preact/hooks';
import { api, ok, type Schemas } from '../api';
import { href, navigate } from '../router';
import { Choice, Failure, Json, Loading, Secret, Section, Time, useAction, useLoad } from '../ui';
import { EventTypePicker, useCatalogue } from './catalogue';
import { AttemptsChart } from './chart';

type Subscription = Schemas['Subscription'];
const path = (id: string) => ({ params: { path: { id } } });

export function SubscriptionPage({ id }: { id: string }) {
  const subscription = useLoad(() => ok(api.GET('/v1/subscriptions/{id}', path(id))), [id]);
  const stats = useLoad(() => ok(api.GET('/v1/subscriptions/{id}/attempt-stats', path(id))), [id]);
  if (subscription.error) return <Failure error={subscription.error} />;
  if (!subscription.data) return <Loading />;
  const s = subscription.data;
  return (
    <>
      <h1>Subscription</h1>
      <p class="muted">
        <a href={href('subscriptions')}>All subscriptions</a> ·{' '}
        <a href={href('deliveries', { subscription_id: id })}>Its deliveries</a> ·{' '}
        <a href={href('dead-letters', { subscription_id: id })}>Its dead letters</a>
      </p>
      <Section title="Overview">
        <dl class="facts">
          <dt>Endpoint</dt>
          <dd data-testid="subscription-url">{s.url}</dd>
          <dt>State</dt>
          <dd data-testid="subscription-state">
            {s.enabled ? 'enabled' : `disabled${s.disabled_reason ? ` (${s.disabled_reason})` : ''}`}
          </dd>
          <dt>Events</dt>
          <dd>{s.event_types.join(', ')}</dd>
          <dt>Id</dt>
          <dd>
            <code>{s.id}</code>
          </dd>
          <dt>Updated</dt>
          <dd>
            <Time value={s.updated_at} />
          </dd>
        </dl>
        {stats.data ? <AttemptsChart stats={stats.data} /> : <Failure error={stats.error} />}
      </Section>
      <EnableDisable subscription={s} onDone={subscription.reload} />
      <TestSend id={id} />
      <Rotate id={id} />
      <Edit subscription={s} onDone={subscription.reload} />
      <Delete id={id} />
    </>
  );
}

function EnableDisable({ subscription, onDone }: { subscription: Subscription; onDone: () => void }) {
  const [reason, setReason] = useState('');
  const action = useAction();
  const id = subscription.id;
  if (!subscription.enabled) {
    return (
      <Section title="Enable">
        <p>
          Disabled subscriptions get no new deliveries. Enabling does not bring back what was dead-lettered meanwhile:
          redrive it.
        </p>
        <Failure error={action.error} />
        <button
          type="button"
          class="primary"
          disabled={action.busy}
          onClick={() => action.run(() => ok(api.POST('/v1/subscriptions/{id}/enable', path(id))).then(onDone))}
        >
          Enable subscription
        </button>
      </Section>
    );
  }
  return (
    <Section title="Disable">
      <p>No new deliveries; the waiting ones end as dead letters (you can redrive them later).</p>
      <label for="disable-reason">Reason (optional)</label>
      <input id="disable-reason" value={reason} maxLength={500} onInput={(e) => setReason(e.currentTarget.value)} />
      <Failure error={action.error} />
      <button
        type="button"
        disabled={action.busy}
        onClick={() =>
          action.run(() =>
            ok(api.POST('/v1/subscriptions/{id}/disable', { ...path(id), body: reason ? { reason } : {} })).then(
              onDone,
            ),
          )
        }
      >
        Disable subscription
      </button>
    </Section>
  );
}

function TestSend({ id }: { id: string }) {
  const catalogue = useCatalogue();
  const [type, setType] = useState('user.signed_up');
  const [result, setResult] = useState<Schemas['TestSendResult']>();
  const action = useAction();
  return (
    <Section title="Send a test event">
      <Choice
        label="Event type"
        value={type}
        options={(catalogue.data ?? []).map((t) => [t.name, t.name])}
        onChange={setType}
      />
      <Failure error={action.error} />
      <button
        type="button"
        disabled={action.busy}
        onClick={() =>
          action.run(async () =>
            setResult(
              await ok(api.POST('/v1/subscriptions/{id}/test', { ...path(id), body: { event_type: type as never } })),
            ),
          )
        }
      >
        Send test
      </button>
      {result && (
        <div data-testid="test-result" role="status">
          <p>
            {result.delivered ? 'Delivered' : 'Not delivered'}:{' '}
            {result.status_code === null ? 'no HTTP answer' : `HTTP ${result.status_code}`} in {result.duration_ms} ms
            {result.error && ` (${result.error})`}
          </p>
          {result.response_excerpt && <Json label="What the receiver answered" value={result.response_excerpt} />}
          <Json label="The body that was sent" value={result.body} />
        </div>
      )}
    </Section>
  );
}

const GRACE_PERIODS = [
  { seconds: 0, label: 'none: the old secret stops at once' },
  { seconds: 3600, label: '1 hour' },
  { seconds: 86400, label: '24 hours' },
  { seconds: 604800, label: '7 days' },
];

function Rotate({ id }: { id: string }) {
  const [grace, setGrace] = useState(86400);
  const [rotated, setRotated] = useState<Schemas['RotatedSecret']>();
  const action = useAction();
  return (
    <Section title="Rotate the signing secret">
      <p>
        During the grace period every delivery is signed with both secrets, so receivers can switch without missing one.
      </p>
      <Choice
        label="Grace period"
        value={String(grace)}
        options={GRACE_PERIODS.map((g) => [String(g.seconds), g.label])}
        onChange={(value) => setGrace(Number(value))}
      />
      <Failure error={action.error} />
      <button
        type="button"
        disabled={action.busy}
        onClick={() =>
          action.run(async () =>
            setRotated(
              await ok(
                api.POST('/v1/subscriptions/{id}/rotate-secret', {
                  ...path(id),
                  body: { grace_period_seconds: grace },
                }),
              ),
            ),
          )
        }
      >
        Rotate secret
      </button>
      {rotated && (
        <>
          <Secret label="New signing secret." value={rotated.secret} />
          <p>
            The previous secrets keep signing until <Time value={rotated.previous_secrets_valid_until} />.
          </p>
        </>
      )}
    </Section>
  );
}

function Edit({ subscription, onDone }: { subscription: Subscription; onDone: () => void }) {
  const catalogue = useCatalogue();
  const [url, setUrl] = useState(subscription.url);
  const [description, setDescription] = useState(subscription.description ?? '');
  const [types, setTypes] = useState<string[]>(subscription.event_types);
  const action = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    void action.run(() =>
      ok(
        api.PATCH('/v1/subscriptions/{id}', {
          ...path(subscription.id),
          body: { url, description, event_types: types as never },
        }),
      ).then(onDone),
    );
  };
  return (
    <Section title="Edit">
      <form onSubmit={submit}>
        <label for="edit-url">Endpoint URL</label>
        <input id="edit-url" type="url" required value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
        <label for="edit-description">Description</label>
        <input id="edit-description" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
        <EventTypePicker catalogue={catalogue} selected={types} onChange={setTypes} legend="Events to send" />
        <Failure error={action.error} />
        <button type="submit" disabled={action.busy || types.length === 0}>
          Save changes
        </button>
      </form>
    </Section>
  );
}

function Delete({ id }: { id: string }) {
  const [confirming, setConfirming] = useState(false);
  const action = useAction();
  return (
    <Section title="Delete">
      <p>Deleting stops every delivery to this endpoint; the waiting ones end as dead letters. It cannot be undone.</p>
      <Failure error={action.error} />
      {!confirming ? (
        <button type="button" class="danger" onClick={() => setConfirming(true)}>
          Delete subscription…
        </button>
      ) : (
        <div role="group" aria-label="Confirm deletion">
          <p>
            <strong>Delete this subscription for good?</strong>
          </p>
          <button
            type="button"
            class="danger"
            disabled={action.busy}
            onClick={() =>
              action.run(() => ok(api.DELETE('/v1/subscriptions/{id}', path(id))).then(() => navigate('subscriptions')))
            }
          >
            Yes, delete it
          </button>{' '}
          <button type="button" onClick={() => setConfirming(false)}>
            Keep it
          </button>
        </div>
      )}
    </Section>
  );
}
