import { Test } from '@nestjs/testing';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Pool } from 'pg';
import { DEFAULT_DELIVERY_POLICY } from '../../libs/contracts/delivery-policy';
import { DeliveryStatus, EndedDeliveryStatus } from '../../libs/contracts/delivery-status';
import { DELIVERY_WORKFLOW } from '../../libs/contracts/delivery-workflow';
import { BulkRedrivesRepository } from '../../libs/db/bulk-redrives.repository';
import { DeliveriesRepository } from '../../libs/db/deliveries.repository';
import { OperatorActionsRepository } from '../../libs/db/operator-actions.repository';
import { OutboxRepository, RedriveClaim } from '../../libs/db/outbox.repository';
import { Db } from '../../libs/db/pool';
import type { TenantScope } from '../../libs/db/rows';
import { DeadLetterRedriver } from '../../libs/temporal/dead-letter-redriver';
import type { DeliveryRunDependencies } from '../../libs/temporal/delivery-run-options';
import { DeadLettersService } from '../../apps/api/src/dead-letters/dead-letters.service';
import { serviceKey, tenantKey } from '../helpers/principals';

/**
 * Redriving one dead letter without Postgres or Temporal: the outbox and deliveries repositories are stubs that
 * hold one delivery row, Temporal's client is a stub that records the runs it is asked to start, and the operator
 * actions are the real repository over a pool that records its statements.
 */

const CLAIMED: Omit<RedriveClaim, 'previous_status'> = {
  id: 'whdlv_dead',
  event_id: 'evt_1',
  subscription_id: 'whsub_1',
  tenant_id: 'tnt_acme',
  event_type: 'user.signed_up',
  workflow_id: 'delivery:whdlv_dead',
  occurred_at: new Date('2026-05-17T08:00:00.000Z'),
  attempt_count: 6,
  redrive_count: 1,
};

/** One delivery row: dead-lettered, delivered or in another status, or none at all. */
class StubDeliveryRow {
  status: DeliveryStatus | undefined = 'dead_lettered';
  readonly claims: Array<{ deliveryId: string; scope: TenantScope; db: Db | undefined }> = [];
  readonly aborted: string[] = [];
  readonly started: string[][] = [];

  readonly outbox = {
    claimRedrive: (deliveryId: string, scope: TenantScope, from: readonly EndedDeliveryStatus[], db?: Db) => {
      this.claims.push({ deliveryId, scope, db });
      const previous = this.status as EndedDeliveryStatus;
      if (!from.includes(previous) || deliveryId !== CLAIMED.id) return Promise.resolve(undefined);
      this.status = 'pending';
      return Promise.resolve({ ...CLAIMED, previous_status: previous });
    },
    abortRedrive: (claim: RedriveClaim) => {
      this.aborted.push(claim.id);
      this.status = claim.previous_status;
      return Promise.resolve();
    },
    markStarted: (ids: string[]) => {
      this.started.push(ids);
      return Promise.resolve();
    },
  };

  readonly deliveries = {
    get: (id: string) =>
      Promise.resolve(
        id === CLAIMED.id && this.status ? { id, status: this.status, tenant_id: 'tnt_acme' } : undefined,
      ),
  };
}

/** Temporal's client: each start either succeeds or throws what `refuse` answers; the previous run's status for describe. */
class StubTemporal {
  readonly starts: Array<{ workflowType: string; options: any }> = [];
  refuse: (attempt: number) => Error | undefined = () => undefined;
  previousRun = 'COMPLETED';
  onDescribe = () => {};

  readonly client = {
    get: () =>
      Promise.resolve({
        workflow: {
          start: (workflowType: string, options: unknown) => {
            this.starts.push({ workflowType, options });
            const refusal = this.refuse(this.starts.length);
            return refusal ? Promise.reject(refusal) : Promise.resolve({ workflowId: CLAIMED.workflow_id });
          },
          getHandle: () => ({
            describe: () => {
              this.onDescribe();
              return Promise.resolve({ status: { name: this.previousRun } });
            },
          }),
        },
      }),
  };
}

/** A pool whose transactions and statements are recorded, each answering no rows. */
class RecordingPool {
  readonly statements: Array<{ on: 'pool' | 'transaction'; text: string; values?: unknown[] }> = [];
  readonly transactionClient = {
    query: (text: string, values?: unknown[]) => this.record('transaction', text, values),
    on: () => undefined,
    off: () => undefined,
    release: () => undefined,
  };

  query(text: string, values?: unknown[]) {
    return this.record('pool', text, values);
  }

  connect() {
    return Promise.resolve(this.transactionClient);
  }

  private record(on: 'pool' | 'transaction', text: string, values?: unknown[]) {
    this.statements.push({ on, text: text.replace(/\s+/g, ' ').trim(), values });
    return Promise.resolve({ rows: [], rowCount: 0 });
  }

  /** The operator action rows inserted: tenant, action, target type and id, actor, details. */
  get actions() {
    return this.statements
      .filter((s) => s.text.startsWith('INSERT INTO operator_actions'))
      .map((s) => ({ on: s.on, values: (s.values ?? []).slice(1) }));
  }

  /** What was added to the action rows' details afterwards (the outcome of their second half). */
  get outcomes() {
    return this.statements
      .filter((s) => s.text.startsWith('UPDATE operator_actions SET details'))
      .map((s) => JSON.parse(String(s.values?.[1])) as Record<string, unknown>);
  }
}

const SERVICE = serviceKey('service:ops');
const TENANT_KEY = tenantKey('tnt_acme');

let row: StubDeliveryRow;
let temporal: StubTemporal;
let redriver: DeadLetterRedriver;

beforeEach(() => {
  row = new StubDeliveryRow();
  temporal = new StubTemporal();
  const deps = {
    client: temporal.client,
    taskQueue: 'webhooks-test',
    policy: DEFAULT_DELIVERY_POLICY,
    deliveries: row.deliveries as unknown as DeliveriesRepository,
    outbox: row.outbox as unknown as OutboxRepository,
  } as unknown as DeliveryRunDependencies;
  redriver = new DeadLetterRedriver(deps);
});
afterEach(() => jest.restoreAllMocks());

/**
 * Every start is refused because the previous run is open, and it stays open: each look at it moves the clock past
 * the redriver's grace, so the test need not wait the grace out.
 */
function previousRunStaysOpen(): void {
  temporal.refuse = () => new WorkflowExecutionAlreadyStartedError('open', CLAIMED.workflow_id, 'delivery');
  temporal.previousRun = 'RUNNING';
  const realNow = Date.now.bind(Date);
  let skew = 0;
  jest.spyOn(Date, 'now').mockImplementation(() => realNow() + skew);
  temporal.onDescribe = () => (skew += 60_000);
}

describe('DeadLetterRedriver: one dead letter', () => {
  it('claims it, then starts a new run of the same workflow id from the next attempt, and marks it started', async () => {
    const before = Date.now();
    expect(await redriver.redrive(CLAIMED.id, undefined)).toEqual({ kind: 'redriven', tenantId: 'tnt_acme' });

    expect(row.claims).toEqual([{ deliveryId: CLAIMED.id, scope: undefined, db: undefined }]);
    expect(temporal.starts).toHaveLength(1);
    const { workflowType, options } = temporal.starts[0];
    expect(workflowType).toBe(DELIVERY_WORKFLOW);
    expect(options).toMatchObject({
      taskQueue: 'webhooks-test',
      workflowId: CLAIMED.workflow_id,
      args: [
        {
          deliveryId: CLAIMED.id,
          eventId: CLAIMED.event_id,
          subscriptionId: CLAIMED.subscription_id,
          tenantId: CLAIMED.tenant_id,
          firstAttempt: CLAIMED.attempt_count + 1,
          redriveWindowMs: DEFAULT_DELIVERY_POLICY.ttlMs,
        },
      ],
    });
    // The TTL window of a redrive counts from now, not from when the event occurred.
    expect(Date.parse(options.args[0].deadline)).toBeGreaterThanOrEqual(before + DEFAULT_DELIVERY_POLICY.ttlMs);
    expect(row.started).toEqual([[CLAIMED.id]]);
    expect(row.aborted).toEqual([]);
  });

  it('answers missing for a delivery that does not exist, and starts nothing', async () => {
    expect(await redriver.redrive('whdlv_unknown', undefined)).toEqual({ kind: 'missing' });
    row.status = undefined;
    expect(await redriver.redrive(CLAIMED.id, 'tnt_acme')).toEqual({ kind: 'missing' });
    expect(temporal.starts).toEqual([]);
  });

  it('answers not_claimable with the status of a delivery that is not dead-lettered, and starts nothing', async () => {
    row.status = 'delivered';
    expect(await redriver.redrive(CLAIMED.id, undefined)).toEqual({ kind: 'not_claimable', status: 'delivered' });
    expect(temporal.starts).toEqual([]);
    expect(row.started).toEqual([]);
  });

  it('puts the claim back and rethrows when Temporal refuses the start', async () => {
    temporal.refuse = () => new Error('temporal unavailable');
    await expect(redriver.redrive(CLAIMED.id, undefined)).rejects.toThrow('temporal unavailable');
    expect(row.aborted).toEqual([CLAIMED.id]);
    expect(row.status).toBe('dead_lettered');
    expect(row.started).toEqual([]);
  });

  it('waits for the previous run to close when it is still open, then starts', async () => {
    temporal.refuse = (attempt) =>
      attempt === 1 ? new WorkflowExecutionAlreadyStartedError('open', CLAIMED.workflow_id, 'delivery') : undefined;
    expect(await redriver.redrive(CLAIMED.id, undefined)).toEqual({ kind: 'redriven', tenantId: 'tnt_acme' });
    expect(temporal.starts).toHaveLength(2);
    expect(row.started).toEqual([[CLAIMED.id]]);
  });

  it('answers still_running and puts the claim back when the previous run stays open past the grace', async () => {
    previousRunStaysOpen();
    expect(await redriver.redrive(CLAIMED.id, undefined)).toEqual({ kind: 'still_running' });
    expect(temporal.starts).toHaveLength(1);
    expect(row.aborted).toEqual([CLAIMED.id]);
    expect(row.started).toEqual([]);
  });
});

describe('DeadLetterRedriver: a resend of any ended delivery', () => {
  const steps = {
    claim: (claim: () => Promise<RedriveClaim | undefined>) => claim(),
    start: (c: RedriveClaim, start: (c: RedriveClaim) => Promise<unknown>) => start(c),
  } as never;

  it.each(['delivered', 'dead_lettered', 'cancelled'] as const)(
    'starts a new run of a %s delivery from the next attempt number',
    async (status) => {
      row.status = status;
      expect(await redriver.resend(CLAIMED.id, undefined, steps)).toEqual({ kind: 'redriven', tenantId: 'tnt_acme' });
      expect(temporal.starts[0].options.args[0]).toMatchObject({ firstAttempt: CLAIMED.attempt_count + 1 });
      expect(row.started).toEqual([[CLAIMED.id]]);
    },
  );

  it('refuses a delivery still active, naming its status', async () => {
    row.status = 'retry_scheduled';
    expect(await redriver.resend(CLAIMED.id, undefined, steps)).toEqual({
      kind: 'not_claimable',
      status: 'retry_scheduled',
    });
    expect(temporal.starts).toEqual([]);
  });

  it('puts a refused start back in the status it was claimed from', async () => {
    row.status = 'delivered';
    temporal.refuse = () => new Error('temporal unavailable');
    await expect(redriver.resend(CLAIMED.id, undefined, steps)).rejects.toThrow('temporal unavailable');
    expect(row.status).toBe('delivered');
  });
});

describe('DeadLettersService: POST /v1/dead-letters/:id/redrive', () => {
  let pool: RecordingPool;
  let service: DeadLettersService;

  beforeEach(async () => {
    pool = new RecordingPool();
    const module = await Test.createTestingModule({
      providers: [
        DeadLettersService,
        { provide: DeliveriesRepository, useValue: row.deliveries },
        { provide: BulkRedrivesRepository, useValue: {} },
        { provide: DeadLetterRedriver, useValue: redriver },
        { provide: OperatorActionsRepository, useValue: new OperatorActionsRepository(pool as unknown as Pool) },
      ],
    }).compile();
    service = module.get(DeadLettersService);
  });

  it('claims inside the transaction that records the operator action, then records that the start completed', async () => {
    expect(await service.redrive(SERVICE, CLAIMED.id)).toEqual({ id: CLAIMED.id, status: 'pending' });

    expect(row.claims).toEqual([{ deliveryId: CLAIMED.id, scope: undefined, db: pool.transactionClient }]);
    expect(pool.statements.filter((s) => s.on === 'transaction').map((s) => s.text.split(' ')[0])).toEqual([
      'BEGIN',
      'INSERT',
      'COMMIT',
    ]);
    expect(pool.actions).toEqual([
      {
        on: 'transaction',
        values: [
          'tnt_acme',
          'dead_letter.redrive',
          'delivery',
          CLAIMED.id,
          'service:ops',
          JSON.stringify({ previous_status: 'dead_lettered', first_attempt: 7 }),
        ],
      },
    ]);
    expect(pool.outcomes).toEqual([{ outcome: 'completed' }]);
    expect(row.started).toEqual([[CLAIMED.id]]);
  });

  it("limits a tenant key's redrive to its own tenant", async () => {
    await service.redrive(TENANT_KEY, CLAIMED.id);
    expect(row.claims.map((c) => c.scope)).toEqual(['tnt_acme']);
  });

  it('answers 404 dead_letter_not_found for an unknown delivery, recording no action', async () => {
    await expect(service.redrive(SERVICE, 'whdlv_unknown')).rejects.toMatchObject({
      status: 404,
      code: 'dead_letter_not_found',
      message: 'no dead letter with id "whdlv_unknown"',
    });
    expect(pool.actions).toEqual([]);
  });

  it('answers 409 not_dead_lettered naming the status, recording no action', async () => {
    row.status = 'delivered';
    await expect(service.redrive(SERVICE, CLAIMED.id)).rejects.toMatchObject({
      status: 409,
      code: 'not_dead_lettered',
      message: `delivery ${CLAIMED.id} is delivered, not dead-lettered; nothing to redrive (resend takes any ended delivery)`,
    });
    expect(pool.actions).toEqual([]);
  });

  it('rethrows a failed start, and the recorded action says it failed and why', async () => {
    temporal.refuse = () => new Error('temporal unavailable');
    await expect(service.redrive(SERVICE, CLAIMED.id)).rejects.toThrow('temporal unavailable');
    expect(pool.actions).toHaveLength(1);
    expect(pool.outcomes).toEqual([{ outcome: 'failed', error: 'temporal unavailable' }]);
    expect(row.aborted).toEqual([CLAIMED.id]);
  });

  it('answers 409 delivery_still_running while the previous run stays open, and the action says it was refused', async () => {
    previousRunStaysOpen();
    await expect(service.redrive(SERVICE, CLAIMED.id)).rejects.toMatchObject({
      status: 409,
      code: 'delivery_still_running',
    });
    expect(pool.outcomes).toEqual([{ outcome: 'refused', refused: 'still_running' }]);
  });
});
