import { parse } from 'protobufjs';
import { TestReceiver } from './receiver';

/**
 * The part of OTLP's trace service request (opentelemetry-proto, collector/trace/v1 and trace/v1) a test reads, with
 * the wire's field numbers; protobufjs skips the fields left out.
 */
const EXPORT_TRACE_SERVICE_REQUEST = parse(`
  syntax = "proto3";
  package otlp;
  message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
  message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
  message Resource { repeated KeyValue attributes = 1; }
  message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
  message InstrumentationScope { string name = 1; }
  message Span {
    bytes trace_id = 1;
    bytes span_id = 2;
    bytes parent_span_id = 4;
    string name = 5;
    int32 kind = 6;
    repeated KeyValue attributes = 9;
  }
  message KeyValue { string key = 1; AnyValue value = 2; }
  message AnyValue {
    oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; }
  }
`).root.lookupType('otlp.ExportTraceServiceRequest');

/** OTLP's SpanKind. */
export const SPAN_KIND = { internal: 1, server: 2, client: 3 } as const;

export interface CollectedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  kind: number;
  service: string;
  scope: string;
  attributes: Record<string, string | number | boolean>;
}

interface KeyValue {
  key: string;
  value?: {
    value?: 'stringValue' | 'boolValue' | 'intValue' | 'doubleValue';
    stringValue?: string;
    boolValue?: boolean;
    intValue?: number;
    doubleValue?: number;
  };
}

function attributes(list: KeyValue[] = []): Record<string, string | number | boolean> {
  const result: Record<string, string | number | boolean> = {};
  for (const { key, value } of list) if (value?.value) result[key] = value[value.value] as string | number | boolean;
  return result;
}

const hex = (bytes: Buffer | undefined) => (bytes && bytes.length > 0 ? Buffer.from(bytes).toString('hex') : null);

/** A real OTLP/HTTP receiver on 127.0.0.1 (protobuf, the exporters' default encoding): it keeps every span it is sent. */
export class OtlpCollector {
  readonly spans: CollectedSpan[] = [];
  private readonly receiver = new TestReceiver((_index, request) => {
    if (
      request.method !== 'POST' ||
      request.path !== '/v1/traces' ||
      request.headers['content-type'] !== 'application/x-protobuf'
    )
      return { status: 415, body: '' };
    this.collect(request.rawBody);
    // An empty ExportTraceServiceResponse: everything accepted.
    return { status: 200, headers: { 'content-type': 'application/x-protobuf' }, body: '' };
  });

  /** Answers the endpoint to give as OTEL_EXPORTER_OTLP_ENDPOINT (spans are POSTed to <endpoint>/v1/traces). */
  async start(): Promise<string> {
    await this.receiver.start();
    return this.receiver.url('');
  }

  stop(): Promise<void> {
    return this.receiver.stop();
  }

  private collect(body: Buffer): void {
    const request = EXPORT_TRACE_SERVICE_REQUEST.toObject(EXPORT_TRACE_SERVICE_REQUEST.decode(body), {
      longs: Number,
      oneofs: true,
      arrays: true,
    }) as {
      resourceSpans: {
        resource?: { attributes: KeyValue[] };
        scopeSpans: { scope?: { name: string }; spans: any[] }[];
      }[];
    };
    for (const resourceSpans of request.resourceSpans) {
      const service = String(attributes(resourceSpans.resource?.attributes)['service.name']);
      for (const scopeSpans of resourceSpans.scopeSpans) {
        for (const span of scopeSpans.spans) {
          this.spans.push({
            traceId: hex(span.traceId) as string,
            spanId: hex(span.spanId) as string,
            parentSpanId: hex(span.parentSpanId),
            name: span.name,
            kind: span.kind,
            service,
            scope: scopeSpans.scope?.name ?? '',
            attributes: attributes(span.attributes),
          });
        }
      }
    }
  }

  /** The span and its ancestors as far as they were collected, innermost first. */
  ancestry(span: CollectedSpan): CollectedSpan[] {
    const chain = [span];
    for (let parent = span.parentSpanId; parent !== null;) {
      const found = this.spans.find((candidate) => candidate.spanId === parent);
      if (!found) break;
      chain.push(found);
      parent = found.parentSpanId;
    }
    return chain;
  }
}
