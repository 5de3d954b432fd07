import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiFailure, portalSession } from './api';
import { AuditPage } from './pages/audit';
import { CataloguePage } from './pages/catalogue';
import { DeadLettersPage } from './pages/dead-letters';
import { DeliveriesPage } from './pages/deliveries';
import { DeliveryPage } from './pages/delivery';
import { SubscriptionPage } from './pages/subscription';
import { SubscriptionsPage } from './pages/subscriptions';
import { href, useRoute } from './router';
import { Failure, Loading } from './ui';
import './styles.css';

const PAGES = [
  ['subscriptions', 'Subscriptions'],
  ['deliveries', 'Deliveries'],
  ['dead-letters', 'Dead letters'],
  ['audit', 'Audit log'],
  ['catalogue', 'Event catalogue'],
] as const;

/**
 * A `#token=…` fragment (the one-time URL) is taken and removed from the address bar and history before anything
 * renders; the session opens by exchanging it for the session cookie. Without one, the cookie of an earlier
 * exchange is used if it is still valid.
 */
const token = new URLSearchParams(location.hash.slice(1)).get('token');
if (token !== null) history.replaceState(null, '', `${location.pathname}${href('subscriptions')}`);
const openSession = (): Promise<{ tenant_id: string }> =>
  token === null ? portalSession('GET') : portalSession('POST', { token });

function App() {
  const [session, setSession] = useState<{ tenant_id: string } | ApiFailure>();
  const route = useRoute();
  useEffect(() => void openSession().then(setSession, setSession), []);
  if (session === undefined) return <Loading />;
  if (session instanceof ApiFailure) {
    return (
      <main id="main" class="closed">
        <h1>Webhooks portal</h1>
        <Failure error={session} />
        <p>Open the portal from your admin console to start a new session.</p>
      </main>
    );
  }
  const [requested, id] = route.parts;
  const page = PAGES.some(([path]) => path === requested) ? requested : 'subscriptions';
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header>
        <span class="brand">Webhooks</span> <span class="muted">{session.tenant_id}</span>
        <nav aria-label="Portal">
          {PAGES.map(([path, title]) => (
            <a key={path} href={href(path)} aria-current={page === path ? 'page' : undefined}>
              {title}
            </a>
          ))}
          <button
            type="button"
            class="link"
            onClick={() =>
              void portalSession('DELETE').then(
                () => setSession(new ApiFailure('signed_out', 'You signed out of the portal.')),
                setSession,
              )
            }
          >
            Sign out
          </button>
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        {page === 'subscriptions' && (id ? <SubscriptionPage id={id} /> : <SubscriptionsPage />)}
        {page === 'deliveries' && (id ? <DeliveryPage id={id} /> : <DeliveriesPage route={route} />)}
        {page === 'dead-letters' && <DeadLettersPage route={route} />}
        {page === 'audit' && <AuditPage />}
        {page === 'catalogue' && <CataloguePage />}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
