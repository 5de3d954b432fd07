import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/common';
import { DeliveryForOperation } from '../db/deliveries.repository';
import {
  CancelRequest,
  cancelSignal,
  DELIVERY_WORKFLOW,
  DeliveryWorkflow,
  retryNowSignal,
  StopRequest,
  stopSignal,
} from '../contracts/delivery-workflow';
import { DeliveryRunDependencies, deliveryStartOptions, firstRunInput } from './delivery-run-options';

export class DeliveryNotActiveError extends Error {
  constructor(readonly deliveryId: string) {
    super(`delivery ${deliveryId} has ended; a dead letter can be redriven`);
  }
}

/** Signals sent at once when a subscription goes away with many deliveries waiting. */
const STOP_CONCURRENCY = 16;

/** Operator actions on running deliveries, as signals to their workflows. */
export class DeliverySignals {
  constructor(private readonly deps: DeliveryRunDependencies) {}

  async cancel(row: DeliveryForOperation, request: CancelRequest): Promise<void> {
    await this.signalWithStart(row, cancelSignal.name, [request]);
  }

  async retryNow(row: DeliveryForOperation): Promise<void> {
    await this.signalWithStart(row, retryNowSignal.name, []);
  }

  /**
   * Ends every waiting delivery of a subscription that was disabled or deleted, as a dead letter with that reason.
   * One already ended (or never started: its attempt checks the subscription) is left as it is.
   */
  async stopWaitingDeliveries(subscriptionId: string, request: StopRequest): Promise<number> {
    const rows = await this.deps.deliveries.activeForSubscription(subscriptionId);
    if (rows.length === 0) return 0;
    const client = await this.deps.client.get();
    for (let i = 0; i < rows.length; i += STOP_CONCURRENCY) {
      await Promise.all(
        rows.slice(i, i + STOP_CONCURRENCY).map(async (row) => {
          try {
            await client.workflow.getHandle(row.workflow_id).signal(stopSignal, request);
          } catch (error) {
            if (!(error instanceof WorkflowNotFoundError)) throw error;
          }
        }),
      );
    }
    return rows.length;
  }

  /** Through signal-with-start, so a delivery whose workflow the outbox relay has not started yet still obeys. */
  private async signalWithStart(row: DeliveryForOperation, signal: string, signalArgs: unknown[]): Promise<void> {
    const client = await this.deps.client.get();
    try {
      await client.workflow.signalWithStart<DeliveryWorkflow, unknown[]>(DELIVERY_WORKFLOW, {
        ...deliveryStartOptions(
          row,
          { ...firstRunInput(row, this.deps.policy), firstAttempt: row.attempt_count + 1 },
          this.deps.taskQueue,
        ),
        signal,
        signalArgs,
      });
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError || error instanceof WorkflowNotFoundError) {
        throw new DeliveryNotActiveError(row.id);
      }
      throw error;
    }
    await this.deps.outbox.markStarted([row.id]);
  }
}
