// The Worker bench/remote-write.ts runs in workerd to measure CPU there: on each request it
// repeats one operation `n` times over a synthetic registry read of `series` series (half
// counters, half gauges, as the Node part), so the workerd process's CPU time per operation can
// be read from outside (/proc): a scrape's render, a push's encode, or one snappy encoder.
import { compress as stablelibCompress } from "@stablelib/snappy";
import SnappyJS from "snappyjs";
import { render } from "../../src/exposition/render.ts";
import { encodeWriteRequests } from "../../src/remote-write/encode.ts";
import { snappyCompress } from "../../src/remote-write/snappy.ts";
import type { MetricFamily } from "../../src/types.ts";

function families(series: number): MetricFamily[] {
  const counter: MetricFamily = {
    name: "bench_requests_total",
    help: "Requests",
    type: "counter",
    labelNames: ["shard", "id"],
    samples: [],
  };
  const gauge: MetricFamily = { ...counter, name: "bench_in_flight", type: "gauge", samples: [] };
  for (let id = 0; id < series; id++) {
    const values = [`shard-${id % 16}`, `series-${id}`];
    (id % 2 === 0 ? counter : gauge).samples.push({ suffix: "", values, value: id % 97 });
  }
  return [counter, gauge];
}

const encode = (f: MetricFamily[]) =>
  encodeWriteRequests(f, {
    target: { job: "bench", instance: "global" },
    defaultLabels: {},
    native: false,
    timestamp: 1_700_000_000_000,
    maxBytes: 1 << 22,
    metadata: true,
  }).requests[0]!.body;

const compressors: Record<string, (b: Uint8Array) => unknown> = {
  ours: snappyCompress,
  snappyjs: (b) => SnappyJS.compress(b),
  "@stablelib/snappy": (b) => stablelibCompress(b),
};

const prepared = new Map<number, { families: MetricFamily[]; body: Uint8Array }>();

export default {
  fetch(request: Request): Response {
    const url = new URL(request.url);
    const series = Number(url.searchParams.get("series") ?? 1000);
    const n = Number(url.searchParams.get("n") ?? 1);
    const op = url.searchParams.get("op") ?? "none";
    let data = prepared.get(series);
    if (data === undefined) {
      const f = families(series);
      data = { families: f, body: encode(f) };
      prepared.set(series, data);
    }
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      if (op === "render") bytes = render(data.families, "text").length;
      else if (op === "encode") bytes = encode(data.families).length;
      else if (op in compressors) compressors[op]!(data.body);
    }
    return new Response(String(bytes));
  },
};
