// What the real @upstash/redis client (1.39.0) sees under each fault, with each retry setting,
// and what reached Redis. These are the facts the exactly-once flush design rests on:
//
//  - The client retries only when fetch() itself throws (connection reset/refused, response
//    lost); never on an HTTP status or an unparsable body, never after its own timeout signal.
//  - `retry: false` is NOT "no retry": it sets attempts to 1 and the loop runs attempts + 1
//    times, so the request is sent twice, back to back. Only `retry: { retries: 0 }` sends once.
//  - A lost response (applyThenDrop) is a network error, so the client resends the same body:
//    with `retry: false` or the default the command is applied TWICE and the call resolves
//    as if nothing happened (INCR returns 2). Nothing tells the caller it was doubled.
//  - `signal: () => AbortSignal.timeout(ms)` is called once per request and shared by all its
//    retries, so it bounds the whole retry sequence; the abort surfaces as a TimeoutError and
//    is never retried. A command held past the timeout may still be applied afterwards.
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FaultProxy, type Outcome, startFaultProxy } from "../../tools/fault-proxy/proxy.ts";
import { startRedisServer } from "../../tools/local-upstash/redis-server.ts";
import { startUpstashServer } from "../../tools/local-upstash/server.ts";
import { newClient, sharedStack, uniquePrefix } from "../helpers/stack.ts";
import { type Observation, observe, sleep } from "./observe.ts";

const stack = sharedStack();
const direct = newClient(); // straight to the local Upstash server, never faulted
const DELAY_MS = 400;
const TIMEOUT_MS = 150;

const RETRY_SETTINGS = {
  "retries: 0": { retry: { retries: 0 } },
  "retry: false": { retry: false },
  default: {},
} as const;
type RetrySetting = keyof typeof RETRY_SETTINGS;

function clientThrough(proxy: FaultProxy, setting: RetrySetting, timeout = true): Redis {
  return new Redis({
    url: proxy.url,
    token: stack.token,
    ...RETRY_SETTINGS[setting],
    ...(timeout ? { signal: () => AbortSignal.timeout(TIMEOUT_MS) } : {}),
  });
}

async function counterValue(key: string): Promise<number> {
  return Number((await direct.get<number>(key)) ?? 0);
}

interface Row {
  fault: string;
  retry: RetrySetting;
  /** "→ value" or "ErrorName [cause]" */
  sees: string;
  requests: number;
  applied: number;
}

function summarize(seen: Observation): string {
  if (seen.ok) return `→ ${JSON.stringify(seen.value)}`;
  const e = seen.error!;
  return e.causeCode ? `${e.name} (${e.message}) [${e.causeCode}]` : e.name;
}

const rows: Row[] = [];
const messages = new Map<string, string>();

describe("@upstash/redis through the fault proxy: one fault, then clean", () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await startFaultProxy({ target: stack.url, delayMs: DELAY_MS });
  });
  afterAll(async () => {
    await proxy.stop();
    console.log(
      [
        "| fault (first request only) | retry setting | client sees | requests | INCRs applied |",
        "|---|---|---|---|---|",
        ...rows.map(
          (r) => `| ${r.fault} | ${r.retry} | ${r.sees} | ${r.requests} | ${r.applied} |`,
        ),
        "",
        ...[...messages].map(([fault, message]) => `${fault}: ${message}`),
      ].join("\n"),
    );
  });
  beforeEach(() => {
    proxy.resetStats();
    proxy.setDelay(DELAY_MS, "forward");
  });

  // fault → retry setting → [what the client sees, requests sent, INCRs applied]
  const expected: Record<Outcome, Record<RetrySetting, [string, number, number]>> = {
    clean: {
      "retries: 0": ["→ 1", 1, 1],
      "retry: false": ["→ 1", 1, 1],
      default: ["→ 1", 1, 1],
    },
    refuse: {
      "retries: 0": ["TypeError (fetch failed) [ECONNRESET]", 1, 0],
      "retry: false": ["→ 1", 2, 1],
      default: ["→ 1", 2, 1],
    },
    http500: {
      "retries: 0": ["UpstashError", 1, 0],
      "retry: false": ["UpstashError", 1, 0],
      default: ["UpstashError", 1, 0],
    },
    http502: {
      "retries: 0": ["UpstashJSONParseError", 1, 0],
      "retry: false": ["UpstashJSONParseError", 1, 0],
      default: ["UpstashJSONParseError", 1, 0],
    },
    garbage: {
      "retries: 0": ["UpstashJSONParseError", 1, 0],
      "retry: false": ["UpstashJSONParseError", 1, 0],
      default: ["UpstashJSONParseError", 1, 0],
    },
    // The client's timeout fires first; the held request is forwarded after DELAY_MS anyway.
    delay: {
      "retries: 0": ["TimeoutError", 1, 1],
      "retry: false": ["TimeoutError", 1, 1],
      default: ["TimeoutError", 1, 1],
    },
    // The key fact: a lost response is retried as a network error, and the retry re-applies.
    applyThenDrop: {
      "retries: 0": ["TypeError (fetch failed) [ECONNRESET]", 1, 1],
      "retry: false": ["→ 2", 2, 2],
      default: ["→ 2", 2, 2],
    },
  };

  for (const [fault, bySetting] of Object.entries(expected) as [
    Outcome,
    Record<RetrySetting, [string, number, number]>,
  ][]) {
    for (const [setting, [sees, requests, applied]] of Object.entries(bySetting) as [
      RetrySetting,
      [string, number, number],
    ][]) {
      it(`${fault}, ${setting}: ${sees}; ${requests} request(s), ${applied} applied`, async () => {
        const key = `${uniquePrefix("client-fault")}n`;
        proxy.script(fault);
        const seen = await observe(() => clientThrough(proxy, setting).incr(key));
        if (fault === "delay") await sleep(DELAY_MS + 150); // let the held request land
        const row: Row = {
          fault,
          retry: setting,
          sees: summarize(seen),
          requests: proxy.stats().total,
          applied: await counterValue(key),
        };
        rows.push(row);
        if (seen.error) messages.set(fault, `${seen.error.name}: ${seen.error.message}`);
        expect({ sees: row.sees, requests: row.requests, applied: row.applied }).toEqual({
          sees,
          requests,
          applied,
        });
        if (fault === "delay") expect(seen.ms).toBeLessThan(DELAY_MS);
      });
    }
  }

  it("error messages: HTTP errors quote the whole command body, never the token", async () => {
    const key = `${uniquePrefix("client-msg")}n`;
    proxy.script("http500");
    const seen = await observe(() => clientThrough(proxy, "default").incr(key));
    expect(seen.error?.message).toBe(
      `ERR fault-proxy: injected HTTP 500, command was: ${JSON.stringify([["incr", key]])}`,
    );
    proxy.script("garbage");
    const garbage = await observe(() => clientThrough(proxy, "default").incr(key));
    expect(garbage.error?.message).toMatch(/^Unable to parse response body: \{"result"/);
    for (const e of [seen.error, garbage.error]) expect(e?.message).not.toContain(stack.token);
  });
});

describe("@upstash/redis when every attempt fails", () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await startFaultProxy({ target: stack.url });
  });
  afterAll(() => proxy.stop());
  beforeEach(async () => {
    proxy.resetStats();
    proxy.setFaults({});
    await proxy.setDown(false);
  });

  it("default retries: 6 attempts over ~4.3 s of backoff (50·e^i ms), then the fetch error", async () => {
    await proxy.setDown("reset");
    const seen = await observe(() =>
      clientThrough(proxy, "default", false).incr(`${uniquePrefix("all-fail")}n`),
    );
    expect(seen.error).toEqual({
      name: "TypeError",
      message: "fetch failed",
      causeCode: "ECONNRESET",
    });
    expect(proxy.stats().total).toBe(6);
    // 50 + 136 + 369 + 1004 + 2730 ms of sleeps between the six attempts.
    expect(seen.ms).toBeGreaterThanOrEqual(4280);
    expect(seen.ms).toBeLessThan(5500);
    console.log(`all attempts reset, default retries: ${seen.ms} ms, 6 requests`);
  });

  it("connection refused (listener closed): same retries, cause ECONNREFUSED", async () => {
    await proxy.setDown("refuse");
    const seen = await observe(() =>
      clientThrough(proxy, "retries: 0", false).incr(`${uniquePrefix("refused")}n`),
    );
    expect(seen.error).toEqual({
      name: "TypeError",
      message: "fetch failed",
      causeCode: "ECONNREFUSED",
    });
  });

  it("the timeout signal bounds the whole retry sequence, checked only between attempts", async () => {
    await proxy.setDown("reset");
    const redis = new Redis({
      url: proxy.url,
      token: stack.token,
      signal: () => AbortSignal.timeout(300),
    });
    const seen = await observe(() => redis.incr(`${uniquePrefix("budget")}n`));
    // Attempts at ~0, 50, 186 ms; the 369 ms sleep outlives the 300 ms signal, and the 4th
    // fetch throws at once on the aborted signal: TimeoutError at ~555 ms, not at 300 ms.
    expect(seen.error?.name).toBe("TimeoutError");
    expect(proxy.stats().total).toBe(3);
    expect(seen.ms).toBeGreaterThanOrEqual(540);
    expect(seen.ms).toBeLessThan(900);
    console.log(`timeout 300 ms over default retries, all reset: TimeoutError at ${seen.ms} ms`);
  });

  it("applyThenDrop on every attempt: the client throws, yet Redis applied every attempt", async () => {
    const key = `${uniquePrefix("atd-all")}n`;
    proxy.setFaults({ applyThenDrop: 1 });
    const redis = new Redis({
      url: proxy.url,
      token: stack.token,
      retry: { retries: 5, backoff: () => 5 },
    });
    const seen = await observe(() => redis.incr(key));
    expect(seen.error?.causeCode).toBe("ECONNRESET");
    expect(proxy.stats().total).toBe(6);
    expect(await counterValue(key)).toBe(6);
  });

  it("redisDown: HTTP 500 + JSON error, never retried, nothing applied", async () => {
    const key = `${uniquePrefix("redis-down")}n`;
    await proxy.setDown("redisDown");
    const seen = await observe(() => clientThrough(proxy, "default").incr(key));
    expect(seen.error?.name).toBe("UpstashError");
    expect(seen.error?.message).toMatch(/^ERR fault-proxy: Redis is unreachable .*, command was:/);
    expect(proxy.stats().total).toBe(1);
    await proxy.setDown(false);
    expect(await counterValue(key)).toBe(0);
  });
});

describe("@upstash/redis through a script (the core's flush path: EVALSHA, EVAL on NOSCRIPT)", () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await startFaultProxy({ target: stack.url });
  });
  afterAll(() => proxy.stop());
  beforeEach(() => proxy.resetStats());
  const INCR_SCRIPT = "return redis.call('INCR', KEYS[1])";

  it("applyThenDrop on EVALSHA, default retries: the script runs twice, resolves 2", async () => {
    const key = `${uniquePrefix("script-atd")}n`;
    const redis = clientThrough(proxy, "default");
    await redis.scriptLoad(INCR_SCRIPT); // cached, so exec() is one EVALSHA
    proxy.resetStats();
    proxy.script("applyThenDrop");
    const seen = await observe(() => redis.createScript<number>(INCR_SCRIPT).exec([key], []));
    expect(seen).toMatchObject({ ok: true, value: 2 });
    expect(proxy.stats().total).toBe(2);
    expect(await counterValue(key)).toBe(2);
  });

  it("http500 on EVALSHA: no EVAL fallback, no retry, nothing applied", async () => {
    const key = `${uniquePrefix("script-500")}n`;
    const redis = clientThrough(proxy, "default");
    proxy.script("http500");
    const seen = await observe(() => redis.createScript<number>(INCR_SCRIPT).exec([key], []));
    expect(seen.error?.name).toBe("UpstashError");
    expect(seen.error?.message).toContain('command was: [["evalsha"');
    expect(proxy.stats().total).toBe(1);
    expect(await counterValue(key)).toBe(0);
  });
});

describe("a real outage: the local Upstash server with its redis-server killed", () => {
  it("answers 503 with a JSON error at once; the client throws UpstashError, no retry", async () => {
    const redisServer = await startRedisServer();
    const upstash = await startUpstashServer({ redisUrl: redisServer.url });
    try {
      const redis = new Redis({ url: upstash.url, token: upstash.token });
      expect(await redis.incr("k")).toBe(1);
      redisServer.kill();
      await sleep(100);
      const before = upstash.requests();
      const seen = await observe(() => redis.incr("k"));
      expect(seen.error?.name).toBe("UpstashError");
      expect(seen.error?.message).toMatch(/unavailable/);
      expect(upstash.requests() - before).toBe(1);
      expect(seen.ms).toBeLessThan(2000);
      console.log(`real outage: ${seen.ms} ms, ${seen.error?.message}`);
    } finally {
      await upstash.stop();
      await redisServer.stop();
    }
  });
});
