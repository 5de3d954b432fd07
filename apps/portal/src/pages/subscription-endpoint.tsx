import { useState } from 'preact/hooks';
import { api, ok, type Schemas } from '../api';
import { ActionButton, Choice, Failure, Json, Secret, Section, Time, useAction } from '../ui';
import { useCatalogue } from './catalogue';

// What a subscription's receiving endpoint is given to check its side: a test event, and a new signing secret.

export function TestSend({ id }: { id: string }) {
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
      <ActionButton
        action={action}
        perform={async () =>
          setResult(
            await ok(
              api.POST('/v1/subscriptions/{id}/test', {
                params: { path: { id } },
                body: { event_type: type as never },
              }),
            ),
          )
        }
      >
        Send test
      </ActionButton>
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

export function Rotate({ id }: { id: string }) {
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
      <ActionButton
        action={action}
        perform={async () =>
          setRotated(
            await ok(
              api.POST('/v1/subscriptions/{id}/rotate-secret', {
                params: { path: { id } },
                body: { grace_period_seconds: grace },
              }),
            ),
          )
        }
      >
        Rotate secret
      </ActionButton>
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
