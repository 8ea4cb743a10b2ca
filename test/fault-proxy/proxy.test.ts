// The fault proxy's own mechanics, driven with raw fetch through the run-wide local Upstash
// server: each mode does what it says, seeded draws repeat, fractions hold, `down` works.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type FaultProxy,
  type Outcome,
  startFaultProxy,
  validateFractions,
} from "../../tools/fault-proxy/proxy.ts";
import { newClient, sharedStack, uniquePrefix } from "../helpers/stack.ts";
import { observe, sleep } from "./observe.ts";

const stack = sharedStack();
const direct = newClient(); // straight to the local Upstash server, never faulted
const DELAY_MS = 300;

/** POST /pipeline [["incr", key]] through the proxy; the parsed reply or the error. */
function rawIncr(proxy: FaultProxy, key: string, signal?: AbortSignal) {
  return observe(async () => {
    const res = await fetch(`${proxy.url}/pipeline`, {
      method: "POST",
      headers: { authorization: `Bearer ${stack.token}`, "content-type": "application/json" },
      body: JSON.stringify([["incr", key]]),
      signal,
    });
    const text = await res.text();
    return { status: res.status, contentType: res.headers.get("content-type"), text };
  });
}

async function counterValue(key: string): Promise<number> {
  return Number((await direct.get<number>(key)) ?? 0);
}

describe("fault proxy, one mode at a time (raw fetch)", () => {
  let proxy: FaultProxy;
  let prefix: string;
  beforeAll(async () => {
    proxy = await startFaultProxy({ target: stack.url, delayMs: DELAY_MS });
  });
  afterAll(() => proxy.stop());
  beforeEach(() => {
    proxy.resetStats();
    proxy.setFaults({});
    proxy.setDelay(DELAY_MS, "forward");
    prefix = uniquePrefix("fault-proxy");
  });

  it("forwards cleanly when no fault is drawn", async () => {
    const key = `${prefix}clean`;
    const seen = await rawIncr(proxy, key);
    expect(seen.value).toMatchObject({ status: 200, text: '[{"result":1}]' });
    expect(await counterValue(key)).toBe(1);
    expect(proxy.stats()).toMatchObject({ total: 1, clean: 1, forwarded: 1 });
  });

  it("refuse: resets the connection, nothing reaches Redis", async () => {
    const key = `${prefix}refuse`;
    proxy.script("refuse");
    const seen = await rawIncr(proxy, key);
    expect(seen.error).toEqual({
      name: "TypeError",
      message: "fetch failed",
      causeCode: "ECONNRESET",
    });
    expect(await counterValue(key)).toBe(0);
    expect(proxy.stats()).toMatchObject({ total: 1, forwarded: 0, faults: { refuse: 1 } });
  });

  it("http500: an Upstash-style JSON error, nothing forwarded", async () => {
    const key = `${prefix}500`;
    proxy.script("http500");
    const seen = await rawIncr(proxy, key);
    expect(seen.value).toMatchObject({ status: 500, contentType: "application/json" });
    expect(JSON.parse((seen.value as { text: string }).text)).toHaveProperty("error");
    expect(await counterValue(key)).toBe(0);
    expect(proxy.stats()).toMatchObject({ forwarded: 0, faults: { http500: 1 } });
  });

  it("http502: a gateway's HTML page, nothing forwarded", async () => {
    const key = `${prefix}502`;
    proxy.script("http502");
    const seen = await rawIncr(proxy, key);
    expect(seen.value).toMatchObject({ status: 502, contentType: "text/html" });
    expect(await counterValue(key)).toBe(0);
  });

  it("garbage: 200 with JSON that does not parse, nothing forwarded", async () => {
    const key = `${prefix}garbage`;
    proxy.script("garbage");
    const seen = await rawIncr(proxy, key);
    const { status, text } = seen.value as { status: number; text: string };
    expect(status).toBe(200);
    expect(() => JSON.parse(text)).toThrow(SyntaxError);
    expect(await counterValue(key)).toBe(0);
  });

  it("applyThenDrop: Redis applied the command, the client only saw a reset", async () => {
    const key = `${prefix}atd`;
    proxy.script("applyThenDrop");
    const seen = await rawIncr(proxy, key);
    expect(seen.error).toEqual({
      name: "TypeError",
      message: "fetch failed",
      causeCode: "ECONNRESET",
    });
    expect(await counterValue(key)).toBe(1);
    expect(proxy.stats()).toMatchObject({ forwarded: 1, faults: { applyThenDrop: 1 } });
  });

  it("delay + forward: the client's timeout fires, the command still applies later", async () => {
    const key = `${prefix}delay-fwd`;
    proxy.script("delay");
    const seen = await rawIncr(proxy, key, AbortSignal.timeout(100));
    expect(seen.error?.name).toBe("TimeoutError");
    expect(seen.ms).toBeLessThan(DELAY_MS);
    expect(await counterValue(key)).toBe(0);
    await sleep(DELAY_MS + 150);
    expect(await counterValue(key)).toBe(1);
    expect(proxy.stats()).toMatchObject({ forwarded: 1, faults: { delay: 1 } });
  });

  it("delay + drop: reset after the delay, never applied", async () => {
    const key = `${prefix}delay-drop`;
    proxy.setDelay(DELAY_MS, "drop");
    proxy.script("delay");
    const seen = await rawIncr(proxy, key);
    expect(seen.error?.causeCode).toBe("ECONNRESET");
    expect(seen.ms).toBeGreaterThanOrEqual(DELAY_MS - 5);
    await sleep(50);
    expect(await counterValue(key)).toBe(0);
    expect(proxy.stats().forwarded).toBe(0);
  });

  it("setDown: reset, redisDown and refuse fail everything until switched off", async () => {
    const key = `${prefix}down`;
    await proxy.setDown("reset");
    expect((await rawIncr(proxy, key)).error?.causeCode).toBe("ECONNRESET");

    await proxy.setDown("redisDown");
    const redisDown = await rawIncr(proxy, key);
    expect(redisDown.value).toMatchObject({ status: 500, contentType: "application/json" });
    expect(JSON.parse((redisDown.value as { text: string }).text).error).toMatch(/unreachable/);

    // "refuse" closes the listener: a real ECONNREFUSED, and the proxy sees nothing.
    await proxy.setDown("refuse");
    expect((await rawIncr(proxy, key)).error?.causeCode).toBe("ECONNREFUSED");

    await proxy.setDown(false);
    expect((await rawIncr(proxy, key)).value).toMatchObject({ status: 200 });
    expect(await counterValue(key)).toBe(1);
    expect(proxy.stats()).toMatchObject({ total: 3, down: 2, clean: 1, forwarded: 1 });
  });

  it("stop() does not wait for a request held by `delay`", async () => {
    const own = await startFaultProxy({ target: stack.url, delayMs: 60_000 });
    own.script("delay");
    const pending = rawIncr(own, `${prefix}held`);
    await sleep(50);
    const start = performance.now();
    await own.stop();
    expect(performance.now() - start).toBeLessThan(1000);
    expect((await pending).ok).toBe(false);
  });
});

describe("fault proxy, random draws", () => {
  /** Sends `n` requests (8 at a time) and returns the outcome each one drew, in draw order. */
  async function drawOutcomes(
    seed: number,
    n: number,
    faults: Parameters<FaultProxy["setFaults"]>[0],
  ) {
    const outcomes: string[] = [];
    const proxy = await startFaultProxy({
      target: stack.url,
      seed,
      faults,
      onRequest: (e) => outcomes.push(e.outcome),
    });
    const key = `${uniquePrefix("fault-draws")}n`;
    let next = 0;
    const worker = async () => {
      while (next++ < n) await rawIncr(proxy, key);
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    const stats = proxy.stats();
    await proxy.stop();
    return { outcomes, stats, applied: await counterValue(key) };
  }

  it("the same seed gives the same sequence; another seed does not", async () => {
    const faults = { refuse: 0.1, http500: 0.2, garbage: 0.1, applyThenDrop: 0.1 };
    const a = await drawOutcomes(7, 300, faults);
    const b = await drawOutcomes(7, 300, faults);
    const c = await drawOutcomes(8, 300, faults);
    expect(a.outcomes).toEqual(b.outcomes);
    expect(a.outcomes).not.toEqual(c.outcomes);
  });

  it("each mode is drawn at its fraction, and only forwarded requests apply", async () => {
    const n = 4000;
    const faults = { refuse: 0.2, http500: 0.1, http502: 0.1, garbage: 0.1, applyThenDrop: 0.2 };
    const { stats, applied } = await drawOutcomes(12345, n, faults);
    expect(stats.total).toBe(n);
    const expected: Record<Outcome, number> = {
      refuse: 0.2,
      delay: 0,
      http500: 0.1,
      http502: 0.1,
      garbage: 0.1,
      applyThenDrop: 0.2,
      clean: 0.3,
    };
    const counts: Record<Outcome, number> = { ...stats.faults, clean: stats.clean };
    for (const [outcome, p] of Object.entries(expected) as [Outcome, number][]) {
      const sd = Math.sqrt(n * p * (1 - p));
      expect(Math.abs(counts[outcome] - n * p), outcome).toBeLessThanOrEqual(4 * sd + 1);
    }
    expect(stats.forwarded).toBe(stats.clean + stats.faults.applyThenDrop);
    expect(applied).toBe(stats.forwarded);
  });

  it("refuses fractions outside 0..1, sums above 1 and unknown modes", () => {
    expect(() => validateFractions({ http500: 1.5 })).toThrow(/within 0..1/);
    expect(() => validateFractions({ http500: -0.1 })).toThrow(/within 0..1/);
    expect(() => validateFractions({ http500: Number.NaN })).toThrow(/within 0..1/);
    expect(() => validateFractions({ http500: 0.6, garbage: 0.6 })).toThrow(/more than 1/);
    expect(() => validateFractions({ nope: 0.1 } as never)).toThrow(/unknown fault mode/);
    expect(() => validateFractions({ refuse: 0.5, delay: 0.5 })).not.toThrow();
  });
});
