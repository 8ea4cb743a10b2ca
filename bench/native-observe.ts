// Rough ns per observation of the native histogram accumulator, beside a plain typed-array
// increment, the classic Histogram.observe and the Summary sketch's add, in one process:
//   node bench/native-observe.ts        (BENCH_ROUNDS, BENCH_CALLS to change the sizes)
// Interleaved rounds, median per case. A quick gauge, not one of `npm run bench`'s figures.
import { Histogram } from "../src/metrics/histogram.ts";
import { NativeAccumulator } from "../src/native/accumulator.ts";
import { DEFAULT_ZERO_THRESHOLD } from "../src/native/schema.ts";
import { SketchAccumulator } from "../src/sketch/accumulator.ts";
import { LogMapping } from "../src/sketch/mapping.ts";
import { mulberry32 } from "./lib/prng.ts";

const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 7);
const CALLS = Number(process.env["BENCH_CALLS"] ?? 2_000_000);
const SEQUENCE = 4096;

// Log-uniform latencies between 1 ms and 10 s, as in bench/hot-path.ts.
const random = mulberry32(7);
const values = Float64Array.from({ length: SEQUENCE }, () => 10 ** (random() * 4 - 3));
const slots = Uint32Array.from({ length: SEQUENCE }, () => Math.floor(random() * 12));

const counts = new Float64Array(12);
const classic = new Histogram({ name: "bench_classic", help: "h", registers: [] });
const sketch = new SketchAccumulator(new LogMapping(0.01));
const natives = [8, 5, 3, 0].map((s) => [s, new NativeAccumulator(s, DEFAULT_ZERO_THRESHOLD, 160)]);

// One loop per case (a shared loop calling closures would be megamorphic and time the call).
function loop(body: (v: number, i: number) => void): () => number {
  return new Function(
    "body",
    "values",
    "CALLS",
    "SEQUENCE",
    `return function () {
      const start = performance.now();
      for (let n = 0; n < CALLS; n++) { const i = n & (SEQUENCE - 1); body(values[i], i); }
      return ((performance.now() - start) * 1e6) / CALLS;
    };`,
  )(body, values, CALLS, SEQUENCE) as () => number;
}

const cases: [string, () => number][] = [
  ["Float64Array increment", loop((_v, i) => counts[slots[i]!]!++)],
  ["classic Histogram.observe(v)", loop((v) => classic.observe(v))],
  ["Summary sketch add", loop((v) => sketch.add(v))],
  ...natives.map(
    ([s, acc]) =>
      [`native accumulator, schema ${s}`, loop((v) => (acc as NativeAccumulator).observe(v))] as [
        string,
        () => number,
      ],
  ),
];

const samples = cases.map(() => [] as number[]);
for (let round = 0; round < ROUNDS; round++) {
  cases.forEach(([, run], k) => {
    samples[k]!.push(run());
  });
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
for (const [k, [name]] of cases.entries()) {
  console.log(`${name.padEnd(34)} ${median(samples[k]!).toFixed(1).padStart(6)} ns/observe`);
}
