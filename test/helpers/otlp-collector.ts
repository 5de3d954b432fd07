export { type CollectedSpan, OtlpCollector, SPAN_KIND } from '../../tools/otlp-collector';
