import { useState } from 'preact/hooks';
import type { Schemas } from '../api';
import { ActionButton, Choice, Failure, Section } from '../ui';
import { useCredentialChange } from './subscription-credentials';

// How the receiver's front door knows the sender: an OAuth2 bearer token, a client certificate. The API never
// answers their secrets, so the forms never hold them beyond the send that sets them.

type Subscription = Schemas['Subscription'];
type ClientAuth = 'basic' | 'body';

const CLIENT_AUTH_CHOICES: Array<[ClientAuth, string]> = [
  ['basic', 'HTTP Basic (the usual)'],
  ['body', 'in the form body'],
];

/** Sets, replaces or removes the OAuth2 client credentials each attempt fetches its bearer token with. */
export function OAuth2Editor({ subscription, onDone }: { subscription: Subscription; onDone: () => void }) {
  const current = subscription.oauth2;
  const [tokenUrl, setTokenUrl] = useState(current?.token_url ?? '');
  const [clientId, setClientId] = useState(current?.client_id ?? '');
  const [clientSecret, setClientSecret] = useState('');
  const [scope, setScope] = useState(current?.scope ?? '');
  const [audience, setAudience] = useState(current?.audience ?? '');
  const [clientAuth, setClientAuth] = useState<ClientAuth>(current?.client_auth ?? 'basic');
  const { action, change } = useCredentialChange(subscription, onDone);
  const submit = (event: Event) => {
    event.preventDefault();
    // An empty optional field is left out (JSON drops undefined), which the replacement then no longer has.
    const oauth2 = {
      token_url: tokenUrl,
      client_id: clientId,
      client_secret: clientSecret,
      scope: scope || undefined,
      audience: audience || undefined,
      client_auth: clientAuth,
    };
    void change({ oauth2 }, () => setClientSecret(''));
  };
  return (
    <Section title="OAuth2">
      <p>
        Each attempt and test send carries <code>Authorization: Bearer</code> with a token fetched from the token
        endpoint (client credentials). The client secret is stored sealed and never shown again: give it anew to change
        anything here.
      </p>
      <form onSubmit={submit}>
        <Field
          id="oauth2-token-url"
          label="Token endpoint URL"
          type="url"
          required
          value={tokenUrl}
          onInput={setTokenUrl}
        />
        <Field id="oauth2-client-id" label="Client id" required value={clientId} onInput={setClientId} />
        <Field
          id="oauth2-client-secret"
          label="Client secret"
          type="password"
          required
          value={clientSecret}
          onInput={setClientSecret}
        />
        <Field id="oauth2-scope" label="Scope (optional)" value={scope} onInput={setScope} />
        <Field id="oauth2-audience" label="Audience (optional)" value={audience} onInput={setAudience} />
        <Choice
          label="Client authentication at the token endpoint"
          value={clientAuth}
          options={CLIENT_AUTH_CHOICES}
          onChange={(value) => setClientAuth(value as ClientAuth)}
        />
        <Failure error={action.error} />
        <button type="submit" disabled={action.busy}>
          {current ? 'Replace OAuth2' : 'Set OAuth2'}
        </button>
        {current && (
          <ActionButton action={action} perform={() => change({ oauth2: null })}>
            Remove OAuth2
          </ActionButton>
        )}
      </form>
    </Section>
  );
}

/**
 * A labelled text field, never remembered by the browser (it may hold a secret); `type` "pem" is a monospace text
 * area for pasted PEM, never spell-checked.
 */
function Field(props: {
  id: string;
  label: string;
  value: string;
  onInput: (value: string) => void;
  type?: 'text' | 'url' | 'password' | 'pem';
  required?: boolean;
}) {
  const { id, label, value, onInput, type = 'text', required } = props;
  const common = { id, required, value, autoComplete: 'off' };
  return (
    <>
      <label for={id}>{label}</label>
      {type === 'pem' ? (
        <textarea {...common} class="pem" rows={5} spellcheck={false} onInput={(e) => onInput(e.currentTarget.value)} />
      ) : (
        <input {...common} type={type} onInput={(e) => onInput(e.currentTarget.value)} />
      )}
    </>
  );
}

/** Sets, replaces or removes the client certificate (and the CA bundle) for receivers that require mutual TLS. */
export function ClientCertificateEditor({ subscription, onDone }: { subscription: Subscription; onDone: () => void }) {
  const [certificate, setCertificate] = useState('');
  const [privateKey, setPrivateKey] = useState('');
  const [ca, setCa] = useState('');
  const { action, change } = useCredentialChange(subscription, onDone);
  const clear = () => {
    setCertificate('');
    setPrivateKey('');
    setCa('');
  };
  const submit = (event: Event) => {
    event.preventDefault();
    const tls = { certificate: certificate || undefined, private_key: privateKey || undefined, ca: ca || undefined };
    void change({ tls_client: tls }, clear);
  };
  return (
    <Section title="Client certificate">
      <p>
        Presented to <code>https://</code> receivers that require mutual TLS. Give the certificate and its unencrypted
        key together, a CA bundle to verify a receiver behind a private CA, or both; they replace what is set. The key
        is stored sealed and never shown again.
      </p>
      <form onSubmit={submit}>
        <Field
          id="tls-certificate"
          type="pem"
          label="Certificate (PEM, then any intermediates)"
          value={certificate}
          onInput={setCertificate}
        />
        <Field id="tls-private-key" type="pem" label="Private key (PEM)" value={privateKey} onInput={setPrivateKey} />
        <Field id="tls-ca" type="pem" label="CA bundle (PEM, optional)" value={ca} onInput={setCa} />
        <Failure error={action.error} />
        <button type="submit" disabled={action.busy}>
          {subscription.tls_client ? 'Replace client certificate' : 'Set client certificate'}
        </button>
        {subscription.tls_client && (
          <ActionButton action={action} perform={() => change({ tls_client: null })}>
            Remove client certificate
          </ActionButton>
        )}
      </form>
    </Section>
  );
}
