// The write script carries only the merge rules of the metric types in use: a Worker without
// summaries (the Hono middleware's) ships and runs no sketch merge, and a summary defined later
// brings it in — a script text (and SHA) of its own, loaded with EVAL once, then applied as usual.
import { describe, expect, it } from "vitest";
import { Counter, Histogram, Registry, Summary } from "../../src/index.ts";
import { NATIVE_PART, SKETCH_PART } from "../../src/store/lua.generated.ts";
import { writeScript } from "../../src/store/scripts.ts";
import { parseChecked, sampleValue } from "../helpers/exposition.ts";
import { newClient, uniquePrefix } from "../helpers/stack.ts";

describe("write script parts", () => {
  it("a counter and a native histogram bring the native merge only; a summary adds the sketch merge", async () => {
    const registry = new Registry({ redis: newClient(), prefix: uniquePrefix("parts") });
    const c = new Counter({ name: "c", help: "c", registers: [registry] });
    const h = new Histogram({ name: "h", help: "h", native: true, registers: [registry] });
    c.inc();
    h.observe(0.3);
    expect(writeScript()).toContain(NATIVE_PART);
    expect(writeScript()).not.toContain(SKETCH_PART);
    expect(writeScript().startsWith("#!lua flags=allow-key-locking\n")).toBe(true);
    await registry.flush();

    const s = new Summary({ name: "s", help: "s", registers: [registry] });
    s.observe(5);
    c.inc();
    expect(writeScript()).toContain(SKETCH_PART);
    await registry.flush();
    expect(registry.stats.failedFlushes).toBe(0);
    const families = parseChecked(await registry.metrics());
    expect(sampleValue(families, "c", {})).toBe(2);
    expect(sampleValue(families, "h_count", {})).toBe(1);
    expect(sampleValue(families, "s", { quantile: "0.5" })).toBeCloseTo(5, 1);
  });
});
