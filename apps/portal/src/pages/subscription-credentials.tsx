import { useState } from 'preact/hooks';
import { api, ok, type operations, type Schemas } from '../api';
import { Failure, Section, Time, useAction } from '../ui';

type Subscription = Schemas['Subscription'];
type CredentialChanges = Pick<
  operations['updateSubscription']['requestBody']['content']['application/json'],
  'headers' | 'oauth2' | 'tls_client'
>;

/**
 * Changes a subscription's receiver credentials through one action, whose failure (the API's code and the field it
 * refused) the form shows beside itself; `then` runs after the change was taken, before the page reloads it.
 */
export function useCredentialChange(subscription: Subscription, onDone: () => void) {
  const action = useAction();
  const change = (body: CredentialChanges, then?: () => void) =>
    action.run(() =>
      ok(api.PATCH('/v1/subscriptions/{id}', { params: { path: { id: subscription.id } }, body })).then(() => {
        then?.();
        onDone();
      }),
    );
  return { action, change };
}

/**
 * What the receiver's front door gets besides the signature, as the API shows it: header names (secret values
 * masked), the OAuth2 client, the client certificate's names and expiry. The test button sends with all of them.
 */
export function ReceiverCredentialFacts({ subscription: s }: { subscription: Subscription }) {
  const headers = Object.entries(s.headers ?? {});
  const certificate = s.tls_client;
  return (
    <>
      <dt>Headers</dt>
      <dd data-testid="subscription-headers">
        {headers.length === 0
          ? 'none'
          : headers.map(([name, value]) => (
              <div key={name}>
                <code>
                  {name}: {value}
                </code>
              </div>
            ))}
      </dd>
      <dt>OAuth2</dt>
      <dd data-testid="subscription-oauth2">
        {s.oauth2
          ? `client ${s.oauth2.client_id} at ${s.oauth2.token_url}${s.oauth2.scope ? `, scope ${s.oauth2.scope}` : ''}`
          : 'none'}
      </dd>
      <dt>Client certificate</dt>
      <dd data-testid="subscription-tls-client">
        {certificate?.subject && certificate.expires_at ? (
          <>
            {certificate.subject}, issued by {certificate.issuer}, expires <Time value={certificate.expires_at} />
          </>
        ) : certificate?.ca ? (
          'none (a CA bundle verifies the receiver)'
        ) : (
          'none'
        )}
      </dd>
    </>
  );
}

/**
 * Sets and removes the headers every delivery to the receiver carries (an API key its gateway checks, a routing
 * header). The API refuses reserved names and CR/LF itself, and never answers a secret value again.
 */
export function HeaderEditor({ subscription, onDone }: { subscription: Subscription; onDone: () => void }) {
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const [shown, setShown] = useState(false);
  const { action, change } = useCredentialChange(subscription, onDone);
  const clear = () => {
    setName('');
    setValue('');
  };
  const submit = (event: Event) => {
    event.preventDefault();
    void change({ headers: { [name]: { value, secret: !shown } } }, clear);
  };
  return (
    <Section title="Receiver headers">
      <p>
        Added to every delivery and test send. Values are stored sealed; a secret one is never shown again, so set it
        anew to change it.
      </p>
      {Object.keys(subscription.headers ?? {}).map((header) => (
        <p key={header}>
          <code>{header}</code>{' '}
          <button type="button" disabled={action.busy} onClick={() => void change({ headers: { [header]: null } })}>
            Remove {header}
          </button>
        </p>
      ))}
      <form onSubmit={submit}>
        <label for="header-name">Header name</label>
        <input id="header-name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <label for="header-value">Value</label>
        <input id="header-value" value={value} onInput={(e) => setValue(e.currentTarget.value)} />
        <label>
          <input type="checkbox" checked={shown} onChange={(e) => setShown(e.currentTarget.checked)} /> Not secret: show
          the value here
        </label>
        <Failure error={action.error} />
        <button type="submit" disabled={action.busy}>
          Set header
        </button>
      </form>
    </Section>
  );
}
