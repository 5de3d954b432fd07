import type { Schemas } from '../api';
import { Time } from '../ui';

type Subscription = Schemas['Subscription'];

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
