import type { Payload } from '@temporalio/common';
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';

/** The header in which @temporalio/interceptors-opentelemetry carries a span context (its TRACE_HEADER). */
export const TRACE_HEADER = '_tracer-data';

/**
 * When the worker traces: hands the trace context a run was started with (the relay's StartWorkflow span) on to
 * each of its attempts, whose span the worker's activity interceptor then makes a child of it. The library's own
 * workflow interceptors would also make spans of the run inside the sandbox, but the sandbox evaluates the modules
 * a workflow imports for every workflow it creates, and theirs (the OpenTelemetry SDK) cost more CPU per delivery
 * than the rest of the worker's work together. This module imports nothing at run time.
 */
export const interceptors: WorkflowInterceptorsFactory = () => {
  let startedIn: Payload | undefined;
  const withTraceContext = <T extends { headers: Record<string, Payload> }>(input: T): T =>
    startedIn === undefined ? input : { ...input, headers: { ...input.headers, [TRACE_HEADER]: startedIn } };
  return {
    inbound: [
      {
        execute(input, next) {
          startedIn = input.headers[TRACE_HEADER];
          return next(input);
        },
      },
    ],
    outbound: [
      {
        scheduleLocalActivity: (input, next) => next(withTraceContext(input)),
        scheduleActivity: (input, next) => next(withTraceContext(input)),
      },
    ],
  };
};
