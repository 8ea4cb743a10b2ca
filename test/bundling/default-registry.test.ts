// The default registry without module side effects (issue 21): a program that imports only a
// metric class (what a tree-shaking bundler leaves of the package) can define metrics without
// `registers`; the default registry, made when first asked for, takes them. The modules are
// imported one by one, never through src/index.ts (whose `register` would make it at once).
import { beforeEach, describe, expect, it, vi } from "vitest";

beforeEach(() => {
  vi.resetModules();
});

describe("the default registry", () => {
  it("takes the metrics defined before it was made", async () => {
    const { Counter } = await import("../../src/metrics/counter.ts");
    const early = new Counter({ name: "early_total", help: "Defined first" });
    early.inc();
    const { globalRegistry } = await import("../../src/registry.ts");
    expect(globalRegistry().getSingleMetric("early_total")).toBe(early);
    const later = new Counter({ name: "later_total", help: "Defined after" });
    expect(globalRegistry().getSingleMetric("later_total")).toBe(later);
  });

  it("refuses a second metric of one name before it is made, with prom-client's text", async () => {
    const { Counter } = await import("../../src/metrics/counter.ts");
    new Counter({ name: "twice_total", help: "h" });
    expect(() => new Counter({ name: "twice_total", help: "h" })).toThrow(
      "A metric with the name twice_total has already been registered.",
    );
  });
});
