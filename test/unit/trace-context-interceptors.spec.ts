import { TRACE_HEADER as LIBRARY_TRACE_HEADER } from '@temporalio/interceptors-opentelemetry/lib/instrumentation';
import type { Payload } from '@temporalio/common';
import type { WorkflowInboundCallsInterceptor, WorkflowOutboundCallsInterceptor } from '@temporalio/workflow';
import { interceptors, TRACE_HEADER } from '../../workflows/trace-context-interceptors';

const payload = (text: string): Payload => ({ metadata: {}, data: Buffer.from(text) });

/** One workflow's interceptors, its run started with `headers`. */
async function started(headers: Record<string, Payload>) {
  const { inbound, outbound } = interceptors() as {
    inbound: WorkflowInboundCallsInterceptor[];
    outbound: WorkflowOutboundCallsInterceptor[];
  };
  await inbound[0].execute?.({ headers, args: [] }, async () => undefined);
  const passed = async (kind: 'scheduleLocalActivity' | 'scheduleActivity', input: Record<string, Payload>) => {
    let seen: Record<string, Payload> | undefined;
    const schedule = outbound[0][kind] as (input: any, next: (input: any) => Promise<unknown>) => Promise<unknown>;
    await schedule({ activityType: 'attemptDelivery', headers: input, args: [], seq: 1, options: {} }, async (next) => {
      seen = next.headers;
      return undefined;
    });
    return seen;
  };
  return passed;
}

describe('the workflow interceptor that hands a run’s trace context to its attempts', () => {
  it('uses the header Temporal’s OpenTelemetry interceptors read', () => {
    expect(TRACE_HEADER).toBe(LIBRARY_TRACE_HEADER);
  });

  it('passes the context the run was started with to every local activity and activity, beside their own headers', async () => {
    const context = payload('{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}');
    const passed = await started({ [TRACE_HEADER]: context, other: payload('x') });
    expect(await passed('scheduleLocalActivity', {})).toEqual({ [TRACE_HEADER]: context });
    expect(await passed('scheduleActivity', { own: payload('y') })).toEqual({
      own: payload('y'),
      [TRACE_HEADER]: context,
    });
  });

  it('adds nothing when the run was started without one', async () => {
    const passed = await started({});
    expect(await passed('scheduleLocalActivity', { own: payload('y') })).toEqual({ own: payload('y') });
  });
});
