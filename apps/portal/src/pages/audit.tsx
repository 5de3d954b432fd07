import { useState } from 'preact/hooks';
import { api, ok } from '../api';
import { Failure, Loading, Pager, Section, Table, Time, useLoad } from '../ui';

export function AuditPage() {
  const [cursor, setCursor] = useState<string>();
  const list = useLoad(
    () => ok(api.GET('/v1/operator-actions', { params: { query: { cursor, limit: 50 } } })),
    [cursor],
  );
  return (
    <>
      <h1>Audit log</h1>
      <Section title="Who did what, newest first">
        <Failure error={list.error} />
        {!list.data && !list.error && <Loading />}
        {list.data && (
          <Table columns={['When', 'Who', 'What', 'On']}>
            {list.data.data.map((a) => (
              <tr key={a.id}>
                <td>
                  <Time value={a.created_at} />
                </td>
                <td>
                  <code>{a.actor}</code>
                </td>
                <td>
                  {a.action}
                  {typeof a.details.outcome === 'string' && <span class="muted"> ({a.details.outcome})</span>}
                </td>
                <td>
                  <code>{a.target_id}</code>
                </td>
              </tr>
            ))}
          </Table>
        )}
        <Pager cursor={cursor} next={list.data?.next_cursor} onPage={setCursor} />
      </Section>
    </>
  );
}
