import { useState } from 'preact/hooks';
import { api, ok, type Schemas } from '../api';
import { href } from '../router';
import { Choice, Failure, Loading, Pager, Secret, Section, Table, Time, useAction, useLoad } from '../ui';
import { EventTypePicker, useCatalogue } from './catalogue';
import { ListenSessions, useListenSessions } from './listen-sessions';
import { ORDERING_CHOICES } from './subscription';

export function SubscriptionsPage() {
  const [cursor, setCursor] = useState<string>();
  const list = useLoad(() => ok(api.GET('/v1/subscriptions', { params: { query: { cursor, limit: 25 } } })), [cursor]);
  const sessions = useListenSessions();
  // A listen session is a subscription too, but not an endpoint to edit: the product never POSTs to its local URL
  // and it ends by itself, so it is listed (and ended) in its own section.
  const listening = new Set(sessions.data?.data.map((session) => session.id));
  const endpoints = list.data?.data.filter((subscription) => !listening.has(subscription.id));
  return (
    <>
      <h1>Subscriptions</h1>
      <Section title="Your endpoints">
        <Failure error={list.error} />
        {!list.data && !list.error && <Loading />}
        {endpoints?.length === 0 && <p>No subscription yet: add your first endpoint below.</p>}
        {endpoints && endpoints.length > 0 && (
          <Table columns={['Endpoint', 'Events', 'State', 'Created']}>
            {endpoints.map((subscription) => (
              <tr key={subscription.id}>
                <td>
                  <a href={href(`subscriptions/${subscription.id}`)}>{subscription.url}</a>
                  {subscription.description && <div class="muted">{subscription.description}</div>}
                </td>
                <td>{subscription.event_types.join(', ')}</td>
                <td>{subscription.enabled ? 'enabled' : 'disabled'}</td>
                <td>
                  <Time value={subscription.created_at} />
                </td>
              </tr>
            ))}
          </Table>
        )}
        <Pager cursor={cursor} next={list.data?.next_cursor} onPage={setCursor} />
      </Section>
      <Failure error={sessions.error} />
      <ListenSessions sessions={sessions.data?.data ?? []} onEnded={sessions.reload} />
      <NewSubscription onCreated={list.reload} />
    </>
  );
}

function NewSubscription({ onCreated }: { onCreated: () => void }) {
  const catalogue = useCatalogue();
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [types, setTypes] = useState<string[]>([]);
  const [disabled, setDisabled] = useState(false);
  const [ordering, setOrdering] = useState<Schemas['Subscription']['ordering']>('none');
  const [created, setCreated] = useState<Schemas['CreatedSubscription']>();
  const action = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    void action.run(async () => {
      const subscription = await ok(
        api.POST('/v1/subscriptions', {
          body: {
            url,
            event_types: types as never,
            ordering,
            ...(description ? { description } : {}),
            ...(disabled ? { enabled: false } : {}),
          } as never,
        }),
      );
      setCreated(subscription);
      setUrl('');
      setDescription('');
      setTypes([]);
      setOrdering('none');
      onCreated();
    });
  };
  return (
    <Section title="New subscription">
      {created && (
        <>
          <Secret label="Signing secret of the new subscription." value={created.secret} />
          <p>
            <a href={href(`subscriptions/${created.id}`)}>Open the new subscription</a>
          </p>
        </>
      )}
      <form onSubmit={submit}>
        <label for="new-url">Endpoint URL</label>
        <input
          id="new-url"
          type="url"
          required
          placeholder="https://example.com/webhooks"
          value={url}
          onInput={(e) => setUrl(e.currentTarget.value)}
        />
        <label for="new-description">Description (optional)</label>
        <input id="new-description" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
        <EventTypePicker catalogue={catalogue} selected={types} onChange={setTypes} legend="Events to send" />
        <Choice
          label="Ordering"
          value={ordering}
          options={ORDERING_CHOICES}
          onChange={(value) => setOrdering(value as Schemas['Subscription']['ordering'])}
        />
        <label>
          <input type="checkbox" checked={disabled} onChange={(e) => setDisabled(e.currentTarget.checked)} /> Create it
          disabled: send test events to it first, enable it when the endpoint is ready
        </label>
        <Failure error={action.error} />
        <button type="submit" class="primary" disabled={action.busy || types.length === 0}>
          Create subscription
        </button>
      </form>
    </Section>
  );
}
