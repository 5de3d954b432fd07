import type { ClientInterceptors } from '@temporalio/client';
import type { WorkerOptions } from '@temporalio/worker';
import type { Tracing } from './node-tracing';

let active: Tracing | undefined;

/**
 * Starts OpenTelemetry tracing when OTEL_EXPORTER_OTLP_ENDPOINT is set; otherwise nothing is loaded, patched or
 * added. Call it before importing what is instrumented (pg, gRPC, http): the instrumentations patch modules as
 * they are loaded.
 */
export function startTracing(serviceName: string, env: NodeJS.ProcessEnv = process.env): void {
  if (active || !env.OTEL_EXPORTER_OTLP_ENDPOINT) return;
  // Loaded only here, so a process without tracing never loads the SDK.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startNodeTracing } = require('./node-tracing') as typeof import('./node-tracing');
  active = startNodeTracing(serviceName);
}

/**
 * Spread into Worker.create's options: empty when not tracing. `workflowModules` pass the trace context a run was
 * started with on to its activities (bundled with the workflows).
 */
export function workerTracingOptions(workflowModules: string[]): Pick<WorkerOptions, 'interceptors'> {
  return active?.workerOptions(workflowModules) ?? {};
}

/** A Temporal Client's interceptors: none when not tracing. */
export function clientTracingInterceptors(): ClientInterceptors | undefined {
  return active?.clientInterceptors();
}

export async function shutdownTracing(): Promise<void> {
  await active?.shutdown();
}
