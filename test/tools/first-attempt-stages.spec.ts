import { firstAttemptStages } from '../../tools/bench/first-attempt-stages';
import type { CollectedSpan } from '../../tools/otlp-collector';

let ids = 0;
function span(fields: Partial<CollectedSpan> & Pick<CollectedSpan, 'name' | 'startMs' | 'endMs'>): CollectedSpan {
  return {
    traceId: 't1',
    spanId: `s${++ids}`,
    parentSpanId: null,
    kind: 1,
    service: 'intelliauth-webhooks-worker',
    scope: '',
    attributes: {},
    ...fields,
  };
}

/** One delivery's spans as the product exports them: publish, the relay's start, the attempt and its POST. */
function delivery(workflowId: string, at: number) {
  const publish = span({ name: 'POST', kind: 2, service: 'intelliauth-webhooks-api', startMs: at, endMs: at + 4 });
  const query = span({ name: 'pg.query', parentSpanId: publish.spanId, startMs: at + 1, endMs: at + 3 });
  const start = span({
    name: 'StartWorkflow:deliveryWorkflow',
    parentSpanId: publish.spanId,
    startMs: at + 6,
    endMs: at + 11,
    attributes: { temporalWorkflowId: workflowId },
  });
  const attempt = span({
    name: 'RunActivity:attemptDelivery',
    parentSpanId: start.spanId,
    startMs: at + 15,
    endMs: at + 30,
  });
  const read = span({ name: 'pg.query', parentSpanId: attempt.spanId, startMs: at + 15.5, endMs: at + 16.5 });
  const post = span({
    name: 'POST',
    kind: 3,
    scope: '@opentelemetry/instrumentation-undici',
    parentSpanId: attempt.spanId,
    startMs: at + 18,
    endMs: at + 20,
  });
  return [publish, query, start, attempt, read, post];
}

describe('the bench’s traced mode: publish -> first attempt by stage', () => {
  it('divides each delivery at its spans’ edges and the receiver’s arrival', () => {
    const spans = [...delivery('delivery:evt_1:sub_a', 1000), ...delivery('delivery:evt_2:sub_a', 2000)];
    const arrivals: Record<string, number> = { 'delivery:evt_1:sub_a': 1019, 'delivery:evt_2:sub_a': 2019 };
    const figures = firstAttemptStages(spans, (workflowId) => arrivals[workflowId], 2);
    expect(figures.traced).toBe(2);
    expect(figures.deliveries).toBe(2);
    expect(figures.ms).toEqual({
      publish: { p50: 4, p99: 4 },
      relay: { p50: 2, p99: 2 },
      start: { p50: 5, p99: 5 },
      'workflow task': { p50: 4, p99: 4 },
      attempt: { p50: 3, p99: 3 },
      post: { p50: 1, p99: 1 },
      total: { p50: 19, p99: 19 },
    });
  });

  it('leaves out a delivery whose chain is incomplete: no attempt span yet, or no arrival', () => {
    const whole = delivery('delivery:evt_1:sub_a', 1000);
    const noAttempt = delivery('delivery:evt_2:sub_a', 2000).filter((s) => !s.name.startsWith('RunActivity'));
    const notArrived = delivery('delivery:evt_3:sub_a', 3000);
    const figures = firstAttemptStages(
      [...whole, ...noAttempt, ...notArrived],
      (id) => (id.includes('evt_3') ? undefined : 1019),
      3,
    );
    expect(figures.traced).toBe(1);
    expect(figures.ms.total).toEqual({ p50: 19, p99: 19 });
  });
});
