import { HttpStatus } from '@nestjs/common';
import { DeliveryStatus } from '../../../../libs/contracts/delivery-status';
import { OperatorAction, OperatorActionsRepository } from '../../../../libs/db/operator-actions.repository';
import { DeadLetterRedriver, RedriveOutcome } from '../../../../libs/temporal/dead-letter-redriver';
import { Principal, scopeOf } from '../auth/principal';
import { ApiError } from '../common/api-error';

/**
 * A redrive or a resend as the api runs it: the claim and its operator action row in one transaction, then the
 * run's start, whose outcome is added to the action. Answers 202's body, or the error for a refused claim
 * (`refused` says why a delivery in that status cannot be taken).
 */
export async function recordedRerun(
  redriver: DeadLetterRedriver,
  operatorActions: OperatorActionsRepository,
  principal: Principal,
  id: string,
  kind: { action: Extract<OperatorAction, 'dead_letter.redrive' | 'delivery.resend'>; missing: string },
  refused: (status: DeliveryStatus) => ApiError,
): Promise<{ id: string; status: 'pending' }> {
  const run = kind.action === 'delivery.resend' ? redriver.resend.bind(redriver) : redriver.redrive.bind(redriver);
  const outcome: RedriveOutcome = await run(id, scopeOf(principal), {
    claim: (claim) =>
      operatorActions.changeAndRecord(claim, (row) => ({
        tenantId: row.tenant_id,
        action: kind.action,
        targetType: 'delivery',
        targetId: id,
        actor: principal.actor,
        details: { previous_status: row.previous_status, first_attempt: row.attempt_count + 1 },
      })),
    start: ({ result, actionId }, start) =>
      operatorActions.carryOut(
        actionId,
        () => start(result),
        (started) => (started.kind === 'redriven' ? {} : { outcome: 'refused', refused: started.kind }),
      ),
  });
  switch (outcome.kind) {
    case 'missing':
      throw ApiError.notFound(kind.missing, id);
    case 'still_running':
      throw new ApiError(
        HttpStatus.CONFLICT,
        'delivery_still_running',
        `delivery ${id} is still finishing its previous run; retry in a moment`,
      );
    case 'not_claimable':
      throw refused(outcome.status);
    case 'redriven':
      return { id, status: 'pending' };
  }
}
