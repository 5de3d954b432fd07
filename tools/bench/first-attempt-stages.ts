import type { CollectedSpan } from '../otlp-collector';
import { percentile } from './target';

/** The stages between a publish and its first attempt's arrival, in order, as the product's spans divide them. */
export const FIRST_ATTEMPT_STAGES = [
  ['publish', 'the api answering the publish (its HTTP server span)'],
  ['relay', 'answered -> the outbox relay starts the run (NOTIFY, claim)'],
  ['start', 'the eager start through Temporal (StartWorkflow span)'],
  ['workflow task', 'run started -> the attempt activity begins (workflow task, local activity)'],
  ['attempt', 'attempt begins -> its POST begins (reads, signing)'],
  ['post', 'POST begins -> the receiver has it'],
  ['total', 'publish received -> the receiver has the first attempt'],
] as const;

export type FirstAttemptStage = (typeof FIRST_ATTEMPT_STAGES)[number][0];

export interface StageFigures {
  /** Deliveries whose whole chain of spans was collected. */
  traced: number;
  deliveries: number;
  ms: Record<FirstAttemptStage, { p50: number; p99: number }>;
}

/** The earliest-starting descendant of `root` (itself excluded) that `matches`. */
function firstDescendant(
  root: CollectedSpan,
  children: Map<string, CollectedSpan[]>,
  matches: (span: CollectedSpan) => boolean,
): CollectedSpan | undefined {
  let found: CollectedSpan | undefined;
  const queue = [...(children.get(root.spanId) ?? [])];
  while (queue.length > 0) {
    const span = queue.pop() as CollectedSpan;
    if (matches(span) && (!found || span.startMs < found.startMs)) found = span;
    queue.push(...(children.get(span.spanId) ?? []));
  }
  return found;
}

/**
 * Divides each delivery's publish -> first attempt into stages from the spans of its trace: the api's server span
 * of the publish, the relay's StartWorkflow, the attempt's RunActivity and the POST's client span under it, and the
 * receiver's arrival time. `firstArrivalMs` answers when the receiver first had the delivery of this workflow
 * (milliseconds since the epoch), or undefined.
 */
export function firstAttemptStages(
  spans: CollectedSpan[],
  firstArrivalMs: (workflowId: string) => number | undefined,
  deliveries: number,
): StageFigures {
  const byId = new Map(spans.map((span) => [span.spanId, span]));
  const children = new Map<string, CollectedSpan[]>();
  for (const span of spans) {
    if (span.parentSpanId === null) continue;
    const list = children.get(span.parentSpanId) ?? [];
    list.push(span);
    children.set(span.parentSpanId, list);
  }
  const values = Object.fromEntries(FIRST_ATTEMPT_STAGES.map(([stage]) => [stage, [] as number[]])) as Record<
    FirstAttemptStage,
    number[]
  >;
  let traced = 0;
  for (const start of spans) {
    const workflowId = start.attributes.temporalWorkflowId;
    if (!start.name.startsWith('StartWorkflow:') || typeof workflowId !== 'string') continue;
    let root = start;
    for (let parent = byId.get(root.parentSpanId ?? ''); parent; parent = byId.get(parent.parentSpanId ?? ''))
      root = parent;
    const attempt = firstDescendant(start, children, (span) => span.name === 'RunActivity:attemptDelivery');
    const post = attempt && firstDescendant(attempt, children, (span) => span.scope.includes('undici'));
    const arrival = firstArrivalMs(workflowId);
    if (root === start || !attempt || !post || arrival === undefined) continue;
    traced += 1;
    values.publish.push(root.endMs - root.startMs);
    values.relay.push(start.startMs - root.endMs);
    values.start.push(start.endMs - start.startMs);
    values['workflow task'].push(attempt.startMs - start.endMs);
    values.attempt.push(post.startMs - attempt.startMs);
    values.post.push(arrival - post.startMs);
    values.total.push(arrival - root.startMs);
  }
  const ms = Object.fromEntries(
    Object.entries(values).map(([stage, list]) => [stage, { p50: percentile(list, 50), p99: percentile(list, 99) }]),
  ) as StageFigures['ms'];
  return { traced, deliveries, ms };
}
