import { Attributes, Context, TextMapGetter, TextMapPropagator, TextMapSetter } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation, UndiciRequest } from '@opentelemetry/instrumentation-undici';
import { envDetectorSync, hostDetectorSync, Resource } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { ClientInterceptors } from '@temporalio/client';
import type { WorkerOptions } from '@temporalio/worker';
import type { IncomingMessage } from 'node:http';
import { NO_TRACE_PROPAGATION } from './trace-context';

/** Probes and scrapes: a span each would drown the traces that matter. */
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * A receiver's URL often carries a credential in its path or query (`/hooks/<token>`, `?key=`), and spans go to a
 * trace backend with wider access than the subscriptions: the POST span names only the origin (scheme, host, port),
 * which is what tells receivers apart. Applied before the span starts, so no processor or exporter sees the rest
 * (an undefined value is one the SDK does not record).
 */
function receiverOriginOnly(request: UndiciRequest): Attributes {
  return { 'url.full': new URL(request.origin).origin, 'url.path': undefined, 'url.query': undefined };
}

/** W3C trace context and baggage, except in a context that asked for none (a delivery to a receiver). */
class WithholdingPropagator implements TextMapPropagator {
  private readonly w3c = new CompositePropagator({
    propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
  });

  inject(context: Context, carrier: unknown, setter: TextMapSetter): void {
    if (context.getValue(NO_TRACE_PROPAGATION) !== true) this.w3c.inject(context, carrier, setter);
  }

  extract(context: Context, carrier: unknown, getter: TextMapGetter): Context {
    return this.w3c.extract(context, carrier, getter);
  }

  fields(): string[] {
    return this.w3c.fields();
  }
}

/** What a process that traces adds to Temporal (started lazily by tracing.ts). */
export interface Tracing {
  /**
   * The activity interceptors, which make each attempt's span a child of the context its workflow passes on, and
   * the workflow interceptor modules that pass it on (bundled with the workflows).
   */
  workerOptions(workflowModules: string[]): Pick<WorkerOptions, 'interceptors'>;
  clientInterceptors(): ClientInterceptors;
  /** Ends the SDK: flushes the spans not exported yet. */
  shutdown(): Promise<void>;
}

/**
 * The OpenTelemetry Node SDK with the HTTP (Fastify's server), gRPC, pg and undici (the webhook POSTs)
 * instrumentations, exporting OTLP over HTTP (protobuf) to OTEL_EXPORTER_OTLP_ENDPOINT; and Temporal's interceptors
 * sharing its span processor, so the workflow's spans (made in the sandbox, handed out through a sink) join the
 * same traces.
 */
export function startNodeTracing(serviceName: string): Tracing {
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the process's own name.
  const resource = new Resource({
    ...Resource.default().attributes,
    'service.name': serviceName,
    ...hostDetectorSync.detect().attributes,
    ...envDetectorSync.detect().attributes,
  });
  const spanProcessor = new BatchSpanProcessor(new OTLPTraceExporter());
  const sdk = new NodeSDK({
    resource,
    autoDetectResources: false,
    spanProcessors: [spanProcessor],
    textMapPropagator: new WithholdingPropagator(),
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request: IncomingMessage) => UNTRACED_PATHS.has((request.url ?? '').split('?')[0]),
      }),
      new GrpcInstrumentation(),
      // Only inside a trace: the relay's sweeps and the pool's housekeeping would be a trace each.
      new PgInstrumentation({ requireParentSpan: true }),
      // Only inside a trace too: the attempts (and the api's test sends) are; the worker's /metrics fetching the SDK's is not.
      new UndiciInstrumentation({ requireParentforSpans: true, startSpanHook: receiverOriginOnly }),
    ],
  });
  sdk.start();
  return {
    workerOptions: (workflowModules) => ({
      interceptors: {
        workflowModules,
        activity: [
          (ctx) => ({
            inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
            outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
          }),
        ],
      },
    }),
    clientInterceptors: () => ({ workflow: [new OpenTelemetryWorkflowClientInterceptor()] }),
    shutdown: () => sdk.shutdown(),
  };
}
