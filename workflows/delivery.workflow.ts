import {
  CancellationScope,
  condition,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { DeliveryActivities } from '../activities/delivery.activities';
import { planAttempt, withRetryAfter } from '../libs/contracts/delivery-policy';
import type { DeliveryStatus } from '../libs/contracts/delivery-status';
import {
  CancelRequest,
  cancelSignal,
  DeliveryResult,
  DeliveryState,
  DeliveryWorkflowInput,
  localAttemptTimeoutMs,
  retryNowSignal,
  searchAttributes,
  stateQuery,
  StopRequest,
  stopSignal,
} from '../libs/contracts/delivery-workflow';

/** Infrastructure faults (Postgres down, worker lost) are retried until they pass; a receiver's answer never is. */
const INFRASTRUCTURE_RETRY = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' } as const;

/**
 * A local activity retried after an infrastructure fault waits inside the workflow task only while the backoff is
 * this short; longer waits become a durable timer and a new workflow task, so Postgres being down never holds a
 * task (and its slot) for minutes.
 */
const LOCAL_RETRY_THRESHOLD = '4s';

/** Regular activity tasks: how runs started before attempts became local keep running (and replaying). */
function activityTasks(input: DeliveryWorkflowInput): DeliveryActivities {
  const { attemptDelivery } = proxyActivities<DeliveryActivities>({
    // The attempt enforces its own timeout; this bound only catches a worker that died mid-attempt.
    startToCloseTimeout: input.attemptTimeoutMs + 30_000,
    retry: INFRASTRUCTURE_RETRY,
  });
  const { recordDeliveryState } = proxyActivities<DeliveryActivities>({
    startToCloseTimeout: '30s',
    retry: INFRASTRUCTURE_RETRY,
  });
  return { attemptDelivery, recordDeliveryState };
}

/** Local activities: run inside the workflow task, recorded as one marker each. */
function localActivities(input: DeliveryWorkflowInput): DeliveryActivities {
  return proxyLocalActivities<DeliveryActivities>({
    startToCloseTimeout: localAttemptTimeoutMs(input.attemptTimeoutMs),
    retry: INFRASTRUCTURE_RETRY,
    localRetryThreshold: LOCAL_RETRY_THRESHOLD,
  });
}

/**
 * One event x subscription: attempt at once, then wait the schedule's durable timers (interruptible by
 * `retryNow`, `cancel` and `stop`), until delivered, exhausted, expired, stopped or cancelled.
 */
export async function deliveryWorkflow(input: DeliveryWorkflowInput): Promise<DeliveryResult> {
  const { attemptDelivery, recordDeliveryState } = input.localAttempts ? localActivities(input) : activityTasks(input);

  const deadlineMs =
    input.redriveWindowMs === undefined ? Date.parse(input.deadline) : Date.now() + input.redriveWindowMs;
  const deadline = new Date(deadlineMs).toISOString();
  const state: DeliveryState = {
    status: 'pending',
    attemptsThisRun: 0,
    lastAttempt: input.firstAttempt > 1 ? input.firstAttempt - 1 : null,
    lastStatusCode: null,
    lastError: null,
    nextAttemptAt: null,
    deadline,
    failureReason: null,
  };
  let cancelRequest: CancelRequest | undefined;
  let stopRequest: StopRequest | undefined;
  let retryRequested = false;
  /** The last failed attempt's Retry-After (429/503), which may move the next attempt later. */
  let retryAfterMs: number | null = null;

  setHandler(cancelSignal, (request) => {
    cancelRequest ??= request ?? {};
  });
  setHandler(stopSignal, (request) => {
    stopRequest ??= request;
  });
  setHandler(retryNowSignal, () => {
    retryRequested = true;
  });
  setHandler(stateQuery, () => state);

  function showStatus(status: DeliveryStatus): void {
    if (state.status === status) return;
    state.status = status;
    upsertSearchAttributes([{ key: searchAttributes.deliveryStatus, value: status }]);
  }

  async function finish(status: DeliveryResult['status'], failureReason: string | null): Promise<DeliveryResult> {
    state.nextAttemptAt = null;
    state.failureReason = failureReason;
    // The attempt activity already recorded a delivery; every other ending is written here.
    if (status !== 'delivered') {
      await recordDeliveryState({ deliveryId: input.deliveryId, status, nextAttemptAt: null, failureReason });
    }
    showStatus(status);
    return { status, attemptsThisRun: state.attemptsThisRun, failureReason };
  }

  /** The ending a signal asked for, if any (a function, since handlers change it between awaits). */
  function requestedEnding(): { status: 'cancelled' | 'dead_lettered'; reason: string } | undefined {
    if (cancelRequest)
      return { status: 'cancelled', reason: `cancelled${cancelRequest.reason ? `: ${cancelRequest.reason}` : ''}` };
    if (stopRequest) return { status: 'dead_lettered', reason: stopRequest.reason };
    return undefined;
  }

  try {
    for (let slot = 0; ; slot++) {
      let ending = requestedEnding();
      if (ending) return await finish(ending.status, ending.reason);
      const plan = withRetryAfter(
        planAttempt(input.retryScheduleMs, slot, Date.now(), deadlineMs),
        retryAfterMs,
        Date.now(),
        deadlineMs,
      );
      if (plan.kind === 'dead_letter') return await finish('dead_lettered', plan.reason);

      if (plan.delayMs > 0) {
        state.nextAttemptAt = new Date(plan.atMs).toISOString();
        await recordDeliveryState({
          deliveryId: input.deliveryId,
          status: 'retry_scheduled',
          nextAttemptAt: state.nextAttemptAt,
          failureReason: null,
        });
        showStatus('retry_scheduled');
        await condition(() => retryRequested || requestedEnding() !== undefined, plan.delayMs);
        retryRequested = false;
        ending = requestedEnding();
        if (ending) return await finish(ending.status, ending.reason);
      }

      const attempt = input.firstAttempt + slot;
      state.nextAttemptAt = null;
      // An attempt straight after the start stays "pending" for search: marking it would cost every delivery a
      // history event for a state that lasts milliseconds. A throttled one stays "throttled" until it has an outcome.
      if (state.status !== 'pending' && state.status !== 'throttled') showStatus('attempting');
      let outcome = await attemptDelivery({
        deliveryId: input.deliveryId,
        attempt,
        attemptTimeoutMs: input.attemptTimeoutMs,
        deadline,
        subscriptionId: input.subscriptionId,
      });
      // No permit under the subscription's limits: nothing was sent, so the same attempt (same schedule slot) waits
      // on a durable timer, releasing this worker's slot, and asks again. The deadline still applies.
      for (let throttledTimes = 1; outcome.kind === 'throttled'; throttledTimes++) {
        if (Date.now() + outcome.retryInMs > deadlineMs) return await finish('dead_lettered', 'expired');
        state.nextAttemptAt = new Date(Date.now() + outcome.retryInMs).toISOString();
        showStatus('throttled');
        await condition(() => retryRequested || requestedEnding() !== undefined, outcome.retryInMs);
        retryRequested = false;
        ending = requestedEnding();
        if (ending) return await finish(ending.status, ending.reason);
        state.nextAttemptAt = null;
        outcome = await attemptDelivery({
          deliveryId: input.deliveryId,
          attempt,
          attemptTimeoutMs: input.attemptTimeoutMs,
          deadline,
          subscriptionId: input.subscriptionId,
          throttledTimes,
        });
      }
      if (outcome.kind === 'stopped') return await finish('dead_lettered', outcome.reason);
      state.attemptsThisRun += 1;
      state.lastAttempt = attempt;
      state.lastStatusCode = outcome.statusCode;
      state.lastError = outcome.error;
      if (outcome.kind === 'delivered') return await finish('delivered', null);
      retryAfterMs = outcome.retryAfterMs ?? null;
    }
  } catch (error) {
    // A cancellation requested from the Temporal UI (or handle.cancel()) still leaves a recorded ending.
    if (isCancellation(error)) {
      return await CancellationScope.nonCancellable(() =>
        finish('cancelled', 'cancelled: workflow cancellation requested'),
      );
    }
    throw error;
  }
}
