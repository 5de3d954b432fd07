import { useState } from 'preact/hooks';
import { api, ok, type Schemas } from '../api';
import { href, navigate } from '../router';
import { ActionButton, Failure, Loading, Section, Time, useAction, useLoad } from '../ui';
import { EventTypePicker, useCatalogue } from './catalogue';
import { AttemptsChart } from './chart';
import { Rotate, TestSend } from './subscription-endpoint';
import { FailingBanner, ReplayForm } from './subscription-replay';

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
        <FailingBanner subscription={s} />
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
      {s.enabled && <ReplayForm id={id} />}
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
        <ActionButton
          action={action}
          kind="primary"
          perform={() => ok(api.POST('/v1/subscriptions/{id}/enable', path(id))).then(onDone)}
        >
          Enable subscription
        </ActionButton>
      </Section>
    );
  }
  return (
    <Section title="Disable">
      <p>No new deliveries; the waiting ones end as dead letters (you can redrive them later).</p>
      <label for="disable-reason">Reason (optional)</label>
      <input id="disable-reason" value={reason} maxLength={500} onInput={(e) => setReason(e.currentTarget.value)} />
      <Failure error={action.error} />
      <ActionButton
        action={action}
        perform={() =>
          ok(api.POST('/v1/subscriptions/{id}/disable', { ...path(id), body: reason ? { reason } : {} })).then(onDone)
        }
      >
        Disable subscription
      </ActionButton>
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
          <ActionButton
            action={action}
            kind="danger"
            perform={() => ok(api.DELETE('/v1/subscriptions/{id}', path(id))).then(() => navigate('subscriptions'))}
          >
            Yes, delete it
          </ActionButton>{' '}
          <button type="button" onClick={() => setConfirming(false)}>
            Keep it
          </button>
        </div>
      )}
    </Section>
  );
}
