import { useEffect } from 'preact/hooks';
import { api, ok } from '../api';
import { href } from '../router';
import { ActionButton, Failure, Json, Loading, Section, Status, Table, Time, useAction, useLoad } from '../ui';
import { UNDER_WAY } from './deliveries';

/** One delivery: the event as sent, every attempt, and what can be done now; refreshed while it is under way. */
export function DeliveryPage({ id }: { id: string }) {
  const delivery = useLoad(() => ok(api.GET('/v1/deliveries/{id}', { params: { path: { id } } })), [id]);
  const eventId = delivery.data?.event_id;
  const event = useLoad(
    () =>
      eventId ? ok(api.GET('/v1/events/{eventId}', { params: { path: { eventId } } })) : Promise.resolve(undefined),
    [eventId],
  );
  const action = useAction();
  const waiting = delivery.data ? UNDER_WAY[delivery.data.status] : false;
  useEffect(() => {
    if (!waiting) return;
    const timer = setInterval(delivery.reload, 1500);
    return () => clearInterval(timer);
  }, [waiting, delivery.reload]);
  if (delivery.error) return <Failure error={delivery.error} />;
  if (!delivery.data) return <Loading />;
  const d = delivery.data;
  const e = event.data;
  return (
    <>
      <h1>Delivery</h1>
      <p class="muted">
        <a href={href('deliveries')}>All deliveries</a> ·{' '}
        <a href={href(`subscriptions/${d.subscription_id}`)}>Its subscription</a>
      </p>
      <Section title="Where it stands">
        <dl class="facts">
          <dt>Status</dt>
          <dd data-testid="delivery-status">
            <Status value={d.status} />
            {d.failure_reason && ` (${d.failure_reason})`}
          </dd>
          <dt>Event</dt>
          <dd>
            {d.event_type} <code>{d.event_id}</code>
          </dd>
          <dt>Next attempt</dt>
          <dd>
            <Time value={d.next_attempt_at} />
          </dd>
          <dt>Redrives</dt>
          <dd>{d.redrive_count}</dd>
        </dl>
        <Failure error={action.error} />
        {waiting && (
          <div class="actions">
            <ActionButton
              action={action}
              perform={() =>
                ok(api.POST('/v1/deliveries/{id}/retry', { params: { path: { id } } })).then(delivery.reload)
              }
            >
              Retry now
            </ActionButton>
            <ActionButton
              action={action}
              kind="danger"
              perform={() =>
                ok(api.POST('/v1/deliveries/{id}/cancel', { params: { path: { id } }, body: {} })).then(delivery.reload)
              }
            >
              Cancel delivery
            </ActionButton>
          </div>
        )}
        {d.status === 'dead_lettered' && (
          <ActionButton
            action={action}
            perform={() =>
              ok(api.POST('/v1/dead-letters/{id}/redrive', { params: { path: { id } } })).then(delivery.reload)
            }
          >
            Redrive
          </ActionButton>
        )}
        {!waiting && (
          <ActionButton
            action={action}
            perform={() =>
              ok(api.POST('/v1/deliveries/{id}/resend', { params: { path: { id } } })).then(delivery.reload)
            }
          >
            Resend
          </ActionButton>
        )}
      </Section>
      <Section title="Attempts">
        {d.attempts.length === 0 ? (
          <p>No attempt yet.</p>
        ) : (
          <Table testId="attempts" columns={['#', 'Sent', 'HTTP status', 'Duration', 'Error', 'Response']}>
            {d.attempts.map((a) => (
              <tr key={a.attempt} class={a.succeeded ? 'ok' : 'failed'}>
                <td>{a.attempt}</td>
                <td>
                  <Time value={a.started_at} />
                </td>
                <td>{a.status_code ?? '—'}</td>
                <td>{a.duration_ms} ms</td>
                <td>{a.error ?? ''}</td>
                <td>
                  <code class="excerpt">{a.response_excerpt ?? ''}</code>
                </td>
              </tr>
            ))}
          </Table>
        )}
      </Section>
      <Section title="Body as sent">
        <p class="muted">The body of every attempt; only delivery.attempt changes from one attempt to the next.</p>
        {e ? (
          <Json
            label="Event body"
            value={{
              event_id: e.event_id,
              event_type: e.event_type,
              occurred_at: e.occurred_at,
              tenant: e.tenant,
              ...(e.actor ? { actor: e.actor } : {}),
              data: e.data,
              delivery: { attempt: Math.max(1, d.attempt_count), subscription_id: d.subscription_id },
            }}
          />
        ) : (
          <Failure error={event.error} />
        )}
      </Section>
    </>
  );
}
