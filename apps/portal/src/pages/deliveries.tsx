import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ok, type Schemas } from '../api';
import { href, navigate, type Route } from '../router';
import { Choice, Failure, Loading, Pager, Section, Status, Table, Time, TimeInput, useLoad } from '../ui';
import { useCatalogue } from './catalogue';

type Delivery = Schemas['Delivery'];
/** Every delivery status (the compiler holds this to the API's enum), and whether one in it is still under way. */
export const UNDER_WAY: Record<Schemas['DeliveryStatus'], boolean> = {
  pending: true,
  attempting: true,
  throttled: true,
  retry_scheduled: true,
  delivered: false,
  dead_lettered: false,
  cancelled: false,
};
const STATUSES = Object.keys(UNDER_WAY);

/**
 * Status, event type, subscription and time filters, kept in the route so a filtered list can be linked to. `times`
 * names what from/to bound: when a delivery was created, or when it was dead-lettered.
 */
export function Filters({
  route,
  page,
  statuses,
  times,
  extra,
}: {
  route: Route;
  page: string;
  statuses: boolean;
  times: string;
  extra?: ComponentChildren;
}) {
  const catalogue = useCatalogue();
  const subscriptions = useLoad(() => ok(api.GET('/v1/subscriptions', { params: { query: { limit: 200 } } })), []);
  const query = Object.fromEntries(route.query);
  const set = (name: string, value: string) => navigate(page, { ...query, [name]: value || undefined });
  return (
    <form class="filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
      {statuses && (
        <Choice
          label="Status"
          any
          value={query.status ?? ''}
          options={STATUSES}
          onChange={(value) => set('status', value)}
        />
      )}
      <Choice
        label="Event type"
        any
        value={query.event_type ?? ''}
        options={(catalogue.data ?? []).map((t) => [t.name, t.name])}
        onChange={(value) => set('event_type', value)}
      />
      <Choice
        label="Subscription"
        any
        value={query.subscription_id ?? ''}
        options={(subscriptions.data?.data ?? []).map((s) => [s.id, s.url])}
        onChange={(value) => set('subscription_id', value)}
      />
      <TimeInput label={`${times} from`} value={query.from ?? ''} onChange={(value) => set('from', value)} />
      <TimeInput label={`${times} before`} value={query.to ?? ''} onChange={(value) => set('to', value)} />
      {extra}
    </form>
  );
}

export function DeliveryTable({
  deliveries,
  action,
}: {
  deliveries: Delivery[];
  action?: (delivery: Delivery) => ComponentChildren;
}) {
  if (deliveries.length === 0) return <p>Nothing matches.</p>;
  return (
    <Table columns={['Delivery', 'Event', 'Status', 'Attempts', 'Created', ...(action ? ['Action'] : [])]}>
      {deliveries.map((d) => (
        <tr key={d.id}>
          <td>
            <a href={href(`deliveries/${d.id}`)}>{d.id}</a>
          </td>
          <td>{d.event_type}</td>
          <td>
            <Status value={d.status} />
            {d.failure_reason && <div class="muted">{d.failure_reason}</div>}
          </td>
          <td>
            {d.attempt_count}
            {d.last_status_code !== null && <span class="muted"> (last HTTP {d.last_status_code})</span>}
          </td>
          <td>
            <Time value={d.created_at} />
          </td>
          {action && <td>{action(d)}</td>}
        </tr>
      ))}
    </Table>
  );
}

export function DeliveriesPage({ route }: { route: Route }) {
  const [cursor, setCursor] = useState<string>();
  const query = Object.fromEntries(route.query);
  const key = route.query.toString();
  useEffect(() => setCursor(undefined), [key]);
  const list = useLoad(
    () => ok(api.GET('/v1/deliveries', { params: { query: { ...query, cursor, limit: 25 } as never } })),
    [key, cursor],
  );
  return (
    <>
      <h1>Deliveries</h1>
      <Filters route={route} page="deliveries" statuses times="Created" />
      <Section title="Newest first">
        <Failure error={list.error} />
        {list.data ? <DeliveryTable deliveries={list.data.data} /> : !list.error && <Loading />}
        <Pager cursor={cursor} next={list.data?.next_cursor} onPage={setCursor} />
      </Section>
    </>
  );
}
