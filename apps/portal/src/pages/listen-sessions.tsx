import { api, ok, type Schemas } from '../api';
import { ActionButton, Failure, Section, Table, Time, useAction, useLoad } from '../ui';

/** The tenant's open listen sessions: each tool's poll keeps its session alive, so they change under the page. */
export function useListenSessions() {
  return useLoad(() => ok(api.GET('/v1/listen-sessions')), []);
}

/**
 * The sessions the command-line tool's `listen` opened, each with a button that ends it (its waiting deliveries
 * end as dead letters, as a deleted subscription's do).
 */
export function ListenSessions({
  sessions,
  onEnded,
}: {
  sessions: Schemas['ListenSessionList']['data'];
  onEnded: () => void;
}) {
  const action = useAction();
  if (sessions.length === 0) return null;
  return (
    <Section title="Listen sessions">
      <p class="muted">
        Deliveries forwarded by <code>intelliauth-webhooks listen</code> to a developer's own machine. Each poll of the
        tool keeps its session open a little longer; a session the tool stopped polling ends by itself.
      </p>
      <Failure error={action.error} />
      <Table columns={['Session', 'Events', 'Forwarded to', 'Last poll', 'Open until', '']} testId="listen-sessions">
        {sessions.map((session) => (
          <tr key={session.id}>
            <td>
              <code>{session.id}</code>
              <div class="muted">
                opened <Time value={session.created_at} />
              </div>
            </td>
            <td>{session.event_types.join(', ')}</td>
            <td>{session.forward_to}</td>
            <td>
              <Time value={session.last_seen_at} />
            </td>
            <td>
              <Time value={session.expires_at} />
            </td>
            <td>
              <ActionButton
                action={action}
                kind="danger"
                label={`End listen session ${session.id}`}
                perform={async () => {
                  await ok(api.DELETE('/v1/listen-sessions/{id}', { params: { path: { id: session.id } } }));
                  onEnded();
                }}
              >
                End
              </ActionButton>
            </td>
          </tr>
        ))}
      </Table>
    </Section>
  );
}
