import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Pool } from 'pg';
import { newEventId } from '../../libs/contracts/ids';
import { EventsRepository } from '../../libs/db/events.repository';
import { DELIVERIES_COMMITTED_CHANNEL, RelayWakeup } from '../../libs/db/relay-wakeup';
import { SubscriptionsRepository } from '../../libs/db/subscriptions.repository';
import { SecretBox } from '../../libs/secrets/secret-box';
import { newSubscriptionRow, testDatabaseUrl, testMasterKeys, testPool, uniqueTenant } from '../helpers/database';
import { eventually } from '../helpers/eventually';

/** The notifications a relay would get, as a relay LISTENs for them. */
describe('RelayWakeup', () => {
  let pool: Pool;
  let listener: Client;
  let notifications = 0;

  beforeAll(async () => {
    pool = testPool();
    listener = new Client({ connectionString: testDatabaseUrl() });
    await listener.connect();
    listener.on('notification', ({ channel }) => {
      if (channel === DELIVERIES_COMMITTED_CHANNEL) notifications += 1;
    });
    await listener.query(`LISTEN ${DELIVERIES_COMMITTED_CHANNEL}`);
  });

  afterAll(async () => {
    await listener.end();
    await pool.end();
  });

  beforeEach(() => (notifications = 0));

  /** Waits for `count` notifications, then a while longer to see that no other follows. */
  async function expectNotifications(count: number): Promise<void> {
    await eventually(() => notifications >= count, { timeout: 10_000, description: `${count} notification(s)` });
    await sleep(300);
    expect(notifications).toBe(count);
  }

  it('notifies at the first commit, and once more for every commit made while that notification was on its way', async () => {
    const wakeup = new RelayWakeup(pool);
    for (let commit = 0; commit < 5; commit++) wakeup.deliveriesCommitted();
    await expectNotifications(2);

    wakeup.deliveriesCommitted();
    await expectNotifications(3);
  });

  it('is what a publish that commits deliveries sends, and a publish without deliveries does not', async () => {
    const tenantId = uniqueTenant();
    const events = new EventsRepository(pool);
    const publish = () =>
      events.publish(
        {
          event_id: newEventId(),
          event_type: 'user.updated',
          occurred_at: new Date().toISOString(),
          tenant: { id: tenantId },
          data: {},
        },
        'relay-wakeup',
      );
    expect((await publish()).kind).toBe('created');
    await expectNotifications(0);

    await new SubscriptionsRepository(pool, SecretBox.parse(testMasterKeys())).create(newSubscriptionRow(tenantId));
    expect(await publish()).toMatchObject({ kind: 'created', deliveries: [expect.anything()] });
    await expectNotifications(1);
  });
});
