import { execFileSync } from 'node:child_process';
import { contractTool } from '../contract/tools';

/** A metric family as the Prometheus Python client's text parser reads it (names of counters without `_total`). */
export interface MetricFamily {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'unknown';
  samples: Array<{ name: string; labels: Record<string, string>; value: number | null }>;
}

/**
 * Parses the exposition. NaN is valid there (prom-client's event-loop lag reads NaN between two close scrapes) and
 * becomes null; in the product's own metrics (webhook_*) it is a defect, reported by name.
 */
const PARSE = `
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families
families = [{"name": f.name, "type": f.type, "samples": [{"name": s.name, "labels": s.labels, "value": None if math.isnan(s.value) else s.value} for s in f.samples]}
            for f in text_string_to_metric_families(sys.stdin.read())]
bad = sorted({s["name"] for f in families for s in f["samples"] if s["name"].startswith("webhook_") and s["value"] is None})
if bad:
    sys.exit("webhook_ samples that are not numbers: " + ", ".join(bad))
print(json.dumps(families))
`;

/** One scrape of a /metrics endpoint, read by a Prometheus text parser (it throws on a malformed exposition). */
export class Scrape {
  private constructor(readonly families: MetricFamily[]) {}

  static async of(url: string): Promise<Scrape> {
    const response = await fetch(`${url}/metrics`);
    if (!response.ok) throw new Error(`${url}/metrics answered ${response.status}`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const parsed = execFileSync(contractTool('TEST_CONTRACT_PYTHON'), ['-c', PARSE], {
      input: await response.text(),
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    return new Scrape(JSON.parse(parsed) as MetricFamily[]);
  }

  family(name: string): MetricFamily | undefined {
    return this.families.find((family) => family.name === name);
  }

  /** The sum of the samples named `sample` (`…_total`, `…_count`, a gauge's name) whose labels include `labels`. */
  value(sample: string, labels: Record<string, string> = {}): number {
    return this.families
      .flatMap((family) => family.samples)
      .filter((s) => s.name === sample && Object.entries(labels).every(([key, value]) => s.labels[key] === value))
      .reduce((sum, s) => sum + (s.value ?? Number.NaN), 0);
  }
}
