import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { parse } from 'protobufjs';

/**
 * The part of OTLP's trace service request (opentelemetry-proto, collector/trace/v1 and trace/v1) that is read here,
 * with the wire's field numbers; protobufjs skips the fields left out.
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
    fixed64 start_time_unix_nano = 7;
    fixed64 end_time_unix_nano = 8;
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
  /** Milliseconds since the epoch, to the microsecond. */
  startMs: number;
  endMs: number;
  attributes: Record<string, string | number | boolean>;
}

interface KeyValue {
  key: string;
  value?: {
    value?: 'stringValue' | 'boolValue' | 'intValue' | 'doubleValue';
    stringValue?: string;
    boolValue?: boolean;
    intValue?: string;
    doubleValue?: number;
  };
}

function attributes(list: KeyValue[] = []): Record<string, string | number | boolean> {
  const result: Record<string, string | number | boolean> = {};
  for (const { key, value } of list) {
    // 64-bit integers are decoded as strings (see decodeSpans); an attribute's fits a number.
    if (value?.value)
      result[key] = value.value === 'intValue' ? Number(value.intValue) : (value[value.value] as string | boolean);
  }
  return result;
}

const hex = (bytes: Buffer | undefined) => (bytes && bytes.length > 0 ? Buffer.from(bytes).toString('hex') : null);

/** Nanoseconds since the epoch (past 2^53, so decoded as a string) as milliseconds. */
const ms = (nanos: string | undefined) => (nanos === undefined ? NaN : Number(BigInt(nanos) / 1000n) / 1000);

/** The spans of one OTLP/HTTP protobuf export request's body. */
export function decodeSpans(body: Buffer): CollectedSpan[] {
  const request = EXPORT_TRACE_SERVICE_REQUEST.toObject(EXPORT_TRACE_SERVICE_REQUEST.decode(body), {
    longs: String,
    oneofs: true,
    arrays: true,
  }) as {
    resourceSpans: {
      resource?: { attributes: KeyValue[] };
      scopeSpans: { scope?: { name: string }; spans: any[] }[];
    }[];
  };
  const spans: CollectedSpan[] = [];
  for (const resourceSpans of request.resourceSpans) {
    const service = String(attributes(resourceSpans.resource?.attributes)['service.name']);
    for (const scopeSpans of resourceSpans.scopeSpans) {
      for (const span of scopeSpans.spans) {
        spans.push({
          traceId: hex(span.traceId) as string,
          spanId: hex(span.spanId) as string,
          parentSpanId: hex(span.parentSpanId),
          name: span.name,
          kind: span.kind,
          service,
          scope: scopeSpans.scope?.name ?? '',
          startMs: ms(span.startTimeUnixNano),
          endMs: ms(span.endTimeUnixNano),
          attributes: attributes(span.attributes),
        });
      }
    }
  }
  return spans;
}

/**
 * An OTLP/HTTP trace receiver on 127.0.0.1 (protobuf, the exporters' default encoding) that keeps every span it is
 * sent; anything else is answered 415.
 */
export class OtlpCollector {
  readonly spans: CollectedSpan[] = [];
  private readonly server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (
        request.method !== 'POST' ||
        request.url !== '/v1/traces' ||
        request.headers['content-type'] !== 'application/x-protobuf'
      ) {
        response.writeHead(415).end();
        return;
      }
      this.spans.push(...decodeSpans(Buffer.concat(chunks)));
      // An empty ExportTraceServiceResponse: everything accepted.
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });

  /** Answers the endpoint to give as OTEL_EXPORTER_OTLP_ENDPOINT (spans are POSTed to <endpoint>/v1/traces). */
  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
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
