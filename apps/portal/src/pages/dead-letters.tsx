import { useEffect, useState } from 'preact/hooks';
import { api, ok, type Schemas } from '../api';
import { navigate, type Route } from '../router';
import { ActionButton, Choice, Failure, Loading, Pager, Section, Time, useAction, useLoad } from '../ui';
import { DeliveryTable, Filters } from './deliveries';

const REASONS = ['exhausted', 'expired', 'subscription_disabled', 'subscription_deleted'];
type BulkRedrive = Schemas['BulkRedrive'];

export function DeadLettersPage({ route }: { route: Route }) {
  const [cursor, setCursor] = useState<string>();
  const [bulk, setBulk] = useState<BulkRedrive>();
  const query = Object.fromEntries(route.query);
  const key = route.query.toString();
  useEffect(() => setCursor(undefined), [key]);
  const list = useLoad(
    () => ok(api.GET('/v1/dead-letters', { params: { query: { ...query, cursor, limit: 25 } as never } })),
    [key, cursor],
  );
  const action = useAction();
  const reason = (
    <Choice
      label="Reason"
      any
      value={query.reason ?? ''}
      options={REASONS}
      onChange={(value) => navigate('dead-letters', { ...query, reason: value || undefined })}
    />
  );
  return (
    <>
      <h1>Dead letters</h1>
      <p>
        Deliveries that ran out of attempts or time, or whose subscription was disabled or deleted. A redrive runs the
        delivery again with a fresh schedule.
      </p>
      <Filters route={route} page="dead-letters" statuses={false} times="Dead-lettered" extra={reason} />
      <Section title="Redrive all that match">
        <Failure error={action.error} />
        <ActionButton
          action={action}
          kind="primary"
          disabled={bulk !== undefined && bulk.status === 'running'}
          perform={async () => setBulk(await ok(api.POST('/v1/dead-letters/redrive', { body: query as never })))}
        >
          Redrive all matching
        </ActionButton>
        {bulk && <BulkProgress job={bulk} onUpdate={setBulk} onDone={list.reload} />}
      </Section>
      <Section title="Newest first">
        <Failure error={list.error} />
        {list.data ? (
          <DeliveryTable deliveries={list.data.data} action={(d) => <RedriveOne id={d.id} onDone={list.reload} />} />
        ) : (
          !list.error && <Loading />
        )}
        <Pager cursor={cursor} next={list.data?.next_cursor} onPage={setCursor} />
      </Section>
    </>
  );
}

function RedriveOne({ id, onDone }: { id: string; onDone: () => void }) {
  const action = useAction();
  return (
    <>
      <ActionButton
        action={action}
        label={`Redrive ${id}`}
        perform={() => ok(api.POST('/v1/dead-letters/{id}/redrive', { params: { path: { id } } })).then(onDone)}
      >
        Redrive
      </ActionButton>
      <Failure error={action.error} />
    </>
  );
}

/** A bulk redrive's counters, polled until the job ends. */
function BulkProgress({
  job,
  onUpdate,
  onDone,
}: {
  job: BulkRedrive;
  onUpdate: (job: BulkRedrive) => void;
  onDone: () => void;
}) {
  const running = job.status === 'running';
  useEffect(() => {
    if (!running) return onDone();
    const timer = setTimeout(
      () => void ok(api.GET('/v1/dead-letters/redrives/{id}', { params: { path: { id: job.id } } })).then(onUpdate),
      1000,
    );
    return () => clearTimeout(timer);
  }, [job, running, onUpdate, onDone]);
  const done = job.redriven + job.skipped + job.failed;
  return (
    <div role="status" data-testid="bulk-progress">
      <label for="bulk-bar">
        Bulk redrive {job.status}: {done} of {job.matched}
      </label>
      <progress id="bulk-bar" max={Math.max(1, job.matched)} value={done} />
      <p class="muted">
        {job.redriven} redriven, {job.skipped} skipped (no longer dead letters), {job.failed} failed · started{' '}
        <Time value={job.created_at} />
      </p>
    </div>
  );
}
