// The billing meter of the local Upstash server (`{ billing: true }`): each command of a request
// plus every command a script runs, as Upstash bills — exact although other clients share the
// redis-server, and equal to what Redis itself counted (INFO commandstats) on a private one.
import { Redis } from "@upstash/redis";
import { Redis as IORedis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  type Billing,
  billingSince,
  type RedisServer,
  scriptForRedis,
  startRedisServer,
  startUpstashServer,
  type UpstashServer,
} from "../../tools/local-upstash/index.ts";
import { newClient, recordingServer, sharedStack, uniquePrefix } from "../helpers/stack.ts";

/** Upstash's rate-limit SDK: a fixed-window limit() is "3 commands: EVAL, INCR, PEXPIRE". */
const FIXED_WINDOW = `
local current = redis.call('INCR', KEYS[1])
if current == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return current`;

/** Runs `n` HINCRBYFLOAT and one TIME: n + 1 commands inside the script. */
const MANY = `#!lua flags=allow-key-locking
for i = 1, tonumber(ARGV[1]) do redis.call('HINCRBYFLOAT', KEYS[1], 'f' .. i, 1) end
redis.call('TIME')
return 1`;

const plainClient = (server: UpstashServer) =>
  new Redis({ url: server.url, token: server.token, enableAutoPipelining: false });

describe("billed commands through the shared redis-server", () => {
  const recording = recordingServer({ billing: true });
  let prefix: string;
  beforeAll(() => {
    prefix = uniquePrefix("billing");
  });
  const billed = (fn: () => Promise<unknown>) => recording.billedDuring(fn);

  it("POST /: one command, one billed", async () => {
    const redis = recording.client({ enableAutoPipelining: false });
    const got = await billed(async () => {
      await redis.set(`${prefix}a`, "1");
      await redis.get(`${prefix}a`);
    });
    expect(got).toEqual({
      billed: 2,
      byCommand: { SET: 1, GET: 1 },
      requestCommands: 2,
      scriptCommands: 0,
      requests: 2,
    });
  });

  it("/pipeline: every command of it", async () => {
    const redis = recording.client();
    const got = await billed(async () => {
      const p = redis.pipeline();
      p.set(`${prefix}p`, "1");
      p.incr(`${prefix}p`);
      p.get(`${prefix}p`);
      await p.exec();
    });
    expect(got).toMatchObject({ billed: 3, byCommand: { SET: 1, INCR: 1, GET: 1 }, requests: 1 });
  });

  it("/multi-exec: the commands of the transaction, not MULTI and EXEC", async () => {
    const redis = recording.client();
    const got = await billed(async () => {
      const tx = redis.multi();
      tx.incr(`${prefix}m`);
      tx.incr(`${prefix}m`);
      await tx.exec();
    });
    expect(got).toMatchObject({ billed: 2, byCommand: { INCR: 2 }, requests: 1 });
  });

  it("a script: EVAL plus what it ran (Upstash's own example: EVAL, INCR, PEXPIRE = 3)", async () => {
    const redis = recording.client({ enableAutoPipelining: false });
    const key = `${prefix}window`;
    const first = await billed(() => redis.eval(FIXED_WINDOW, [key], ["60000"]));
    expect(first).toEqual({
      billed: 3,
      byCommand: { EVAL: 1, INCR: 1, PEXPIRE: 1 },
      requestCommands: 1,
      scriptCommands: 2,
      requests: 1,
    });
    // the window exists now: INCR only
    const second = await billed(() => redis.eval(FIXED_WINDOW, [key], ["60000"]));
    expect(second).toMatchObject({ billed: 2, byCommand: { EVAL: 1, INCR: 1 } });
  });

  it("createScript of a flagged script: EVALSHA (NOSCRIPT), EVAL and its commands, then EVALSHA", async () => {
    const redis = recording.client({ enableAutoPipelining: false });
    const script = redis.createScript(`${MANY}\n-- ${prefix}`);
    const key = `${prefix}h`;
    const cold = await billed(() => script.exec([key], ["3"]));
    expect(cold).toEqual({
      billed: 6,
      byCommand: { EVALSHA: 1, EVAL: 1, HINCRBYFLOAT: 3, TIME: 1 },
      requestCommands: 2,
      scriptCommands: 4,
      requests: 2,
    });
    const warm = await billed(() => script.exec([key], ["3"]));
    expect(warm).toMatchObject({ billed: 5, byCommand: { EVALSHA: 1, HINCRBYFLOAT: 3, TIME: 1 } });
  });

  it("a pipeline of scripts and plain commands", async () => {
    const redis = recording.client();
    const key = `${prefix}mix`;
    const got = await billed(async () => {
      const p = redis.pipeline();
      p.eval(MANY, [key], ["2"]);
      p.hgetall(key);
      p.eval(FIXED_WINDOW, [`${prefix}mix-window`], ["1000"]);
      p.del(`${prefix}nothing`);
      await p.exec();
    });
    expect(got).toMatchObject({
      billed: 4 + 3 + 2,
      byCommand: { EVAL: 2, HINCRBYFLOAT: 2, TIME: 1, HGETALL: 1, INCR: 1, PEXPIRE: 1, DEL: 1 },
      requestCommands: 4,
      scriptCommands: 5,
      requests: 1,
    });
  });

  it("a command inside a script that fails still ran (redis.pcall)", async () => {
    const redis = recording.client({ enableAutoPipelining: false });
    const key = `${prefix}str`;
    await redis.set(key, "text");
    const got = await billed(() =>
      redis.eval("return redis.pcall('INCR', KEYS[1])", [key], []).catch(() => undefined),
    );
    expect(got).toMatchObject({ billed: 2, byCommand: { EVAL: 1, INCR: 1 } });
  });

  it("counts only its own: other clients running scripts meanwhile change nothing", async () => {
    // Two more writers on the same redis-server: a direct connection and another metered server.
    const direct = new IORedis(sharedStack().redisUrl);
    const other = await startUpstashServer({ redisUrl: sharedStack().redisUrl, billing: true });
    const unmetered = newClient({ enableAutoPipelining: false }); // the run-wide server
    try {
      const ours = recording.client({ enableAutoPipelining: false });
      const theirs = plainClient(other);
      const otherBefore = await other.billing();
      let noise = true;
      // started now, awaited below (a failure there fails the test, not the run)
      const noiseDone = (async () => {
        let i = 0;
        while (noise) {
          await Promise.all([
            // (straight to Redis: the stock text, without the Upstash-only flag)
            direct.eval(scriptForRedis(MANY), 1, `${prefix}direct`, "5"),
            theirs.eval(MANY, [`${prefix}theirs`], ["4"]),
            unmetered.eval(MANY, [`${prefix}unmetered`], ["3"]),
            direct.incr(`${prefix}direct-n`),
          ]);
          i++;
        }
        return i;
      })();
      noiseDone.catch(() => {});
      const got = await billed(async () => {
        for (let i = 0; i < 20; i++) {
          await ours.eval(MANY, [`${prefix}ours`], ["2"]);
          await ours.incr(`${prefix}ours-n`);
        }
      }).finally(() => {
        noise = false;
      });
      const rounds = await noiseDone;
      expect(rounds).toBeGreaterThan(0);
      expect(got).toEqual({
        billed: 20 * (1 + 3) + 20,
        byCommand: { EVAL: 20, HINCRBYFLOAT: 40, TIME: 20, INCR: 20 },
        requestCommands: 40,
        scriptCommands: 60,
        requests: 40,
      });
      // The other metered server counted exactly its own rounds too.
      const theirsBilled = billingSince(otherBefore, await other.billing());
      expect(theirsBilled.byCommand).toEqual({
        EVAL: rounds,
        HINCRBYFLOAT: 4 * rounds,
        TIME: rounds,
      });
    } finally {
      await other.stop();
      direct.disconnect();
    }
  });

  it("resetBilling() starts the count again", async () => {
    const redis = recording.client({ enableAutoPipelining: false });
    await redis.incr(`${prefix}r`);
    await recording.server.resetBilling();
    expect(await recording.server.billing()).toEqual({
      billed: 0,
      byCommand: {},
      requestCommands: 0,
      scriptCommands: 0,
      requests: 0,
    });
    await redis.incr(`${prefix}r`);
    expect((await recording.server.billing()).billed).toBe(1);
  });

  it("recordScripts(): each script call with its KEYS, ARGV, the client's text and what it ran", async () => {
    const redis = recording.client({ enableAutoPipelining: false });
    const key = `${prefix}rec`;
    const { result, runs } = await recording.server.recordScripts(async () => {
      await redis.incr(`${prefix}not-a-script`);
      return redis.eval(MANY, [key], ["2"]);
    });
    expect(result).toBe(1);
    expect(runs).toEqual([
      {
        command: "EVAL",
        source: MANY, // the shebang as the client sent it
        sha: expect.stringMatching(/^[0-9a-f]{40}$/),
        keys: [key],
        args: ["2"],
        calls: [["HINCRBYFLOAT", key, "f1", "1"], ["HINCRBYFLOAT", key, "f2", "1"], ["TIME"]],
      },
    ]);
  });
});

it("billing() without the billing option says how to turn it on", async () => {
  const server = await startUpstashServer({ redisUrl: sharedStack().redisUrl });
  try {
    await expect(server.billing()).rejects.toThrow(/billing: true/);
    await expect(server.recordScripts(async () => {})).rejects.toThrow(/billing: true/);
  } finally {
    await server.stop();
  }
});

// On a redis-server nobody else uses, Redis' own counters must agree with the meter: every
// command Redis ran for this server (scripts' commands included) is a billed command.
describe("against INFO commandstats on a private redis-server", () => {
  let redisServer: RedisServer;
  let server: UpstashServer;
  let direct: IORedis;
  beforeAll(async () => {
    redisServer = await startRedisServer();
    server = await startUpstashServer({ redisUrl: redisServer.url, billing: true });
    direct = new IORedis(redisServer.url);
  });
  afterAll(async () => {
    direct?.disconnect();
    await server?.stop();
    await redisServer?.stop();
  });

  /** Commands Redis ran since the last CONFIG RESETSTAT, by name, without our own checks. */
  async function commandstats(): Promise<Record<string, number>> {
    const info = (await direct.info("commandstats")) as string;
    const out: Record<string, number> = {};
    for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      const name = m[1]!.toUpperCase();
      // INFO/CONFIG are this check's; ECHO the meter's sync markers; MULTI/EXEC not billed
      if (!["INFO", "CONFIG|RESETSTAT", "ECHO", "MULTI", "EXEC"].includes(name)) {
        out[name] = Number(m[2]);
      }
    }
    return out;
  }

  it("a mixed workload: billed by command = executed by command", async () => {
    const pipelined = new Redis({ url: server.url, token: server.token });
    const plain = plainClient(server);
    await direct.config("RESETSTAT");
    await server.resetBilling();
    const script = plain.createScript(MANY);
    await script.exec(["h"], ["4"]); // EVALSHA → NOSCRIPT → EVAL
    await script.exec(["h"], ["4"]);
    await plain.set("s", "1");
    await Promise.all([pipelined.incr("n"), pipelined.incr("n"), pipelined.hgetall("h")]);
    const tx = pipelined.multi();
    tx.eval(FIXED_WINDOW, ["w"], ["5000"]);
    tx.get("s");
    await tx.exec();
    await pipelined.eval(FIXED_WINDOW, ["w"], ["5000"]);

    const bill: Billing = await server.billing();
    expect(bill.byCommand).toEqual(await commandstats());
    expect(bill).toMatchObject({
      billed: 2 + 5 + 5 + 1 + 3 + 1 + 3 + 1 + 2,
      byCommand: {
        EVALSHA: 2,
        EVAL: 3,
        HINCRBYFLOAT: 8,
        TIME: 2,
        SET: 1,
        INCR: 4,
        HGETALL: 1,
        PEXPIRE: 1,
        GET: 1,
      },
    });
  });
});

describe("when Redis restarts under a metered server", () => {
  let redisServer: RedisServer;
  let server: UpstashServer;
  beforeAll(async () => {
    redisServer = await startRedisServer();
    server = await startUpstashServer({ redisUrl: redisServer.url, billing: true });
  });
  afterAll(async () => {
    await server?.stop();
    await redisServer?.stop();
  });

  it("billing() refuses a count MONITOR missed a part of, until resetBilling()", async () => {
    const redis = plainClient(server);
    await redis.eval(FIXED_WINDOW, ["w"], ["1000"]);
    expect((await server.billing()).billed).toBe(3);

    await redisServer.restart();
    await expect(server.billing()).rejects.toThrow(/MONITOR connection to Redis was lost/);
    // the server's connection comes back by itself; requests Redis could not serve are not billed
    await vi.waitFor(() => redis.incr("n"), { timeout: 5_000, interval: 100 });
    await server.resetBilling(); // waits for MONITOR to be back
    expect((await server.billing()).billed).toBe(0);
    const before = await server.billing();
    await redis.eval(FIXED_WINDOW, ["w2"], ["1000"]);
    expect(billingSince(before, await server.billing())).toMatchObject({
      billed: 3,
      byCommand: { EVAL: 1, INCR: 1, PEXPIRE: 1 },
    });
  });
});
