import { context, createContextKey, propagation, ROOT_CONTEXT } from '@opentelemetry/api';

/**
 * Trace context across the outbox and at the edge, through the OpenTelemetry API only: with tracing off (no SDK
 * started) every call here is the API's no-op.
 */

/** The W3C `traceparent` of the active span (the publish request's), stored with the event; null when not tracing. */
export function activeTraceParent(): string | null {
  const carrier: { traceparent?: string } = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ?? null;
}

/** Runs `fn` as a child of the span a stored `traceparent` names (the relay starting a published delivery's run). */
export function withTraceParent<T>(traceParent: string | null, fn: () => T): T {
  if (traceParent === null) return fn();
  return context.with(propagation.extract(ROOT_CONTEXT, { traceparent: traceParent }), fn);
}

/** Set in the context of a request that must not carry trace context (a receiver is another company). */
export const NO_TRACE_PROPAGATION = createContextKey('intelliauth no trace propagation');

/** Runs `fn` with propagation off: spans are still recorded, but no `traceparent` or `baggage` is injected. */
export function withoutTracePropagation<T>(fn: () => T): T {
  return context.with(context.active().setValue(NO_TRACE_PROPAGATION, true), fn);
}
