import { useState } from 'preact/hooks';
import { api, ok, type Schemas } from '../api';
import { href, navigate } from '../router';
import { ActionButton, Choice, Failure, Loading, Section, Status, Table, Time, useAction, useLoad } from '../ui';
import { EventTypePicker, useCatalogue } from './catalogue';
import { AttemptsChart } from './chart';
import { HeaderEditor, ReceiverCredentialFacts } from './subscription-credentials';
import { ClientCertificateEditor, OAuth2Editor } from './subscription-receiver-auth';
import { Rotate, TestSend } from './subscription-endpoint';
import { FailingBanner, ReplayForm } from './subscription-replay';

type Subscription = Schemas['Subscription'];
const path = (id: string) => ({ params: { path: { id } } });

/** The choices of a subscription's `ordering`, as the portal names them. */
export const ORDERING_CHOICES: Array<[Subscription['ordering'], string]> = [
  ['none', 'none: each delivery starts at once'],
  ['per_entity', 'per entity: one at a time per user, application or connection, in publish order'],
];

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
          <dt>Ordering</dt>
          <dd data-testid="subscription-ordering">{ORDERING_CHOICES.find(([value]) => value === s.ordering)?.[1]}</dd>
          <ReceiverCredentialFacts subscription={s} />
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
      {s.ordering === 'per_entity' && <BlockedKeys id={id} />}
      <EnableDisable subscription={s} onDone={subscription.reload} />
      <HeaderEditor subscription={s} onDone={subscription.reload} />
      <OAuth2Editor subscription={s} onDone={subscription.reload} />
      <ClientCertificateEditor subscription={s} onDone={subscription.reload} />
      <TestSend id={id} />
      {s.enabled && <ReplayForm id={id} />}
      <Rotate id={id} />
      <Edit subscription={s} onDone={subscription.reload} />
      <Delete id={id} />
    </>
  );
}

/** The keys whose next deliveries wait for an earlier one (the head): cancel or retry the head to let them go. */
function BlockedKeys({ id }: { id: string }) {
  const blocked = useLoad(() => ok(api.GET('/v1/subscriptions/{id}/blocked-keys', path(id))), [id]);
  if (blocked.error) return <Failure error={blocked.error} />;
  if (!blocked.data) return <Loading />;
  const keys = blocked.data.data;
  return (
    <Section title="Blocked keys">
      <p>
        Each key's deliveries go one at a time: the ones below wait for the delivery heading their key to end. Open it
        to retry it now or cancel it.
      </p>
      {keys.length === 0 ? (
        <p data-testid="blocked-keys-none">No key is blocked.</p>
      ) : (
        <Table columns={['Key', 'Waiting for', 'Its status', 'Since', 'Waiting']} testId="blocked-keys">
          {keys.map((key) => (
            <tr key={key.ordering_key}>
              <td>
                <code>{key.ordering_key}</code>
              </td>
              <td>
                <a href={href(`deliveries/${key.head_delivery_id}`)}>{key.head_delivery_id}</a>
              </td>
              <td>
                <Status value={key.head_status} />
              </td>
              <td>
                <Time value={key.since} />
              </td>
              <td>{key.waiting}</td>
            </tr>
          ))}
        </Table>
      )}
      {blocked.data.has_more && <p class="muted">More keys are blocked; the longest blocked are shown.</p>}
      <button type="button" onClick={blocked.reload}>
        Refresh
      </button>
    </Section>
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
  const [ordering, setOrdering] = useState(subscription.ordering);
  const action = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    void action.run(() =>
      ok(
        api.PATCH('/v1/subscriptions/{id}', {
          ...path(subscription.id),
          body: { url, description, event_types: types as never, ordering },
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
        <Choice
          label="Ordering (applies to events published after the change)"
          value={ordering}
          options={ORDERING_CHOICES}
          onChange={(value) => setOrdering(value as Subscription['ordering'])}
        />
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
