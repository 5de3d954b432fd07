import { useEffect, useState } from 'preact/hooks';
import { api, ok, type Schemas } from '../api';
import { Failure, Section, Time, TimeInput, useAction } from '../ui';
import { EventTypePicker, useCatalogue } from './catalogue';

type Replay = Schemas['Replay'];
type Subscription = Schemas['Subscription'];

/** The warning before the axe, with the facts of webhook.subscription.failing: shown while the warned run goes on. */
export function FailingBanner({ subscription }: { subscription: Subscription }) {
  const warning = subscription.failing_warning;
  if (!warning) return null;
  return (
    <p class="failure" role="alert" data-testid="failing-banner">
      <strong>
        Every attempt has failed since <Time value={warning.failing_since} />.
      </strong>{' '}
      {warning.disables_at ? (
        <>
          Unless a delivery succeeds before <Time value={warning.disables_at} />, this subscription will be disabled.
        </>
      ) : (
        'It will not be disabled for it, but its deliveries are piling up as dead letters.'
      )}{' '}
      Fix the endpoint, then replay what failed below.
    </p>
  );
}

/** Deliver again the events of a window (or only its dead letters), and follow the job. */
export function ReplayForm({ id }: { id: string }) {
  const [from, setFrom] = useState(() => new Date(Date.now() - 86_400_000).toISOString());
  const [to, setTo] = useState(() => new Date().toISOString());
  const [onlyFailed, setOnlyFailed] = useState(true);
  const catalogue = useCatalogue();
  const [types, setTypes] = useState<string[]>(['*']);
  const [job, setJob] = useState<Replay>();
  const action = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    void action.run(async () =>
      setJob(
        await ok(
          api.POST('/v1/subscriptions/{id}/replay', {
            params: { path: { id } },
            // None picked is sent as it is, so the API's refusal says what to fix.
            body: {
              from,
              to,
              only_failed: onlyFailed,
              ...(types.includes('*') ? {} : { event_types: types as never }),
            },
          }),
        ),
      ),
    );
  };
  return (
    <Section title="Replay">
      <p>
        Sends again every event of the window that this subscription takes now, with the same event ids and the next
        attempt numbers; events older than the retention period are gone.
      </p>
      <form onSubmit={submit}>
        <TimeInput label="From" value={from} onChange={setFrom} />
        <TimeInput label="To" value={to} onChange={setTo} />
        <EventTypePicker
          catalogue={catalogue}
          selected={types}
          onChange={setTypes}
          legend="Event types to replay (of those this subscription takes)"
        />
        <label>
          <input type="checkbox" checked={onlyFailed} onChange={(e) => setOnlyFailed(e.currentTarget.checked)} /> Only
          the events whose delivery failed (dead letters)
        </label>
        <Failure error={action.error} />
        <button type="submit" class="primary" disabled={action.busy || job?.status === 'running'}>
          Replay
        </button>
      </form>
      {job && <ReplayProgress job={job} onUpdate={setJob} />}
    </Section>
  );
}

/** A replay's counters, polled until its job has walked the window and none of its deliveries is on its way. */
function ReplayProgress({ job, onUpdate }: { job: Replay; onUpdate: (job: Replay) => void }) {
  const settled = job.status === 'completed' && job.pending === 0;
  useEffect(() => {
    if (settled) return;
    const timer = setTimeout(
      () => void ok(api.GET('/v1/replays/{id}', { params: { path: { id: job.id } } })).then(onUpdate),
      1000,
    );
    return () => clearTimeout(timer);
  }, [job, settled, onUpdate]);
  return (
    <div role="status" data-testid="replay-progress">
      <p>
        Replay {settled ? 'done' : 'under way'}: {job.matched} events, {job.delivered} delivered, {job.failed} failed,{' '}
        {job.pending} on their way, {job.skipped} skipped (already on their way).
      </p>
      {job.not_replayed && (
        <p class="muted">
          Not replayed: <Time value={job.not_replayed.from} /> to <Time value={job.not_replayed.to} /> is older than the
          retention period.
        </p>
      )}
    </div>
  );
}
