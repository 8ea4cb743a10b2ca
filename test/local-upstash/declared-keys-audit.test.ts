// The declared-keys audit (tools/local-upstash/declared-keys.ts) proven on synthetic scripts:
// a key a script touches without having it in KEYS is reported, one it has is not, whatever the
// command (key positions come from COMMAND GETKEYS), and only this server's script calls count.
import { Redis as IORedis } from "ioredis";
import { beforeAll, describe, expect, it } from "vitest";
import { auditDeclaredKeys, scriptForRedis } from "../../tools/local-upstash/index.ts";
import { recordingServer, sharedStack, uniquePrefix } from "../helpers/stack.ts";

const LOCKING = "#!lua flags=allow-key-locking";

describe("declared-keys audit", () => {
  const recording = recordingServer({ billing: true });
  let prefix: string;
  beforeAll(() => {
    prefix = uniquePrefix("audit");
  });
  const audit = <T>(work: () => Promise<T>) => auditDeclaredKeys(recording.server, work);

  it("a script that touches only its KEYS is clean, whatever the commands", async () => {
    const redis = recording.client();
    const [a, b, dest, built] = ["a", "b", "dest", "built:1"].map((k) => `${prefix}${k}`) as [
      string,
      string,
      string,
      string,
    ];
    const source = `${LOCKING}
redis.call('HSET', KEYS[1], 'f', '1')
redis.call('MGET', KEYS[1], KEYS[2])
redis.call('ZADD', KEYS[2], 1, 'm')
redis.call('ZUNIONSTORE', KEYS[3], 2, KEYS[2], KEYS[2])
redis.call('TIME')
-- a name built in the script is fine when the result is one of KEYS (Upstash's rule)
redis.call('SET', ARGV[1] .. ':' .. ARGV[2], 'x')
return redis.call('HGET', KEYS[1], 'f')`;
    const { result, runs, violations } = await audit(() =>
      redis.eval(source, [a, b, dest, built], [`${prefix}built`, "1"]),
    );
    expect(result).toBe(1);
    expect(runs).toHaveLength(1);
    expect(runs[0]!.calls.map((c) => c[0])).toEqual([
      "HSET",
      "MGET",
      "ZADD",
      "ZUNIONSTORE",
      "TIME",
      "SET",
      "HGET",
    ]);
    expect(violations).toEqual([]);
  });

  it("a key built from KEYS[1] that is not itself in KEYS is reported", async () => {
    const redis = recording.client();
    const base = `${prefix}{P}`;
    const source = `${LOCKING}
redis.call('HINCRBYFLOAT', KEYS[1] .. ':v:requests_total', 'x', 1)
redis.call('SET', KEYS[1] .. ':batch:42', '1', 'NX', 'EX', 60)
redis.call('PEXPIRE', KEYS[2], 1000)
return 1`;
    const { violations } = await audit(() => redis.eval(source, [base, `${prefix}ok`], []));
    expect(violations).toEqual([
      {
        kind: "undeclared-key",
        script: LOCKING,
        key: `${base}:v:requests_total`,
        command: ["HINCRBYFLOAT", `${base}:v:requests_total`, "x", "1"],
        declared: [base, `${prefix}ok`],
      },
      {
        kind: "undeclared-key",
        script: LOCKING,
        key: `${base}:batch:42`,
        command: ["SET", `${base}:batch:42`, "1", "NX", "EX", "60"],
        declared: [base, `${prefix}ok`],
      },
    ]);
  });

  it("audits EVALSHA calls too, knowing their text (and first line) from the EVAL before", async () => {
    const redis = recording.client();
    const script = redis.createScript(
      `${LOCKING}\n-- ${prefix}\nreturn redis.call('GET', KEYS[1] .. ':elsewhere')`,
    );
    const { runs, violations } = await audit(async () => {
      await script.exec([`${prefix}k`], []); // EVALSHA (NOSCRIPT), then EVAL
      await script.exec([`${prefix}k`], []); // EVALSHA
    });
    expect(runs.map((r) => r.command)).toEqual(["EVALSHA", "EVAL", "EVALSHA"]);
    expect(runs.map((r) => r.calls.length)).toEqual([0, 1, 1]);
    expect(violations.map((v) => [v.script, v.key])).toEqual([
      [LOCKING, `${prefix}k:elsewhere`],
      [LOCKING, `${prefix}k:elsewhere`],
    ]);
  });

  it("checks each call of a pipeline against its own KEYS", async () => {
    const redis = recording.client();
    const touch = "return redis.call('INCR', ARGV[1])";
    const { violations } = await audit(async () => {
      const p = redis.pipeline();
      p.eval(touch, [`${prefix}one`], [`${prefix}one`]); // declared
      p.eval(touch, [`${prefix}two`], [`${prefix}one`]); // declared in the other call only
      await p.exec();
    });
    expect(violations.map((v) => [v.key, v.declared])).toEqual([
      [`${prefix}one`, [`${prefix}two`]],
    ]);
  });

  it("reports commands that need the whole database", async () => {
    const redis = recording.client();
    const { violations } = await audit(() =>
      redis.eval("return #redis.call('KEYS', ARGV[1])", [], [`${prefix}nothing*`]),
    );
    expect(violations.map((v) => [v.kind, v.command[0]])).toEqual([["database-wide", "KEYS"]]);
  });

  it("ignores script calls other clients of the redis-server make meanwhile", async () => {
    const redis = recording.client();
    const direct = new IORedis(sharedStack().redisUrl);
    try {
      const { runs, violations } = await audit(async () => {
        await direct.eval(scriptForRedis(`${LOCKING}\nreturn redis.call('GET', ARGV[1])`), 0, "x");
        await redis.eval("return redis.call('GET', KEYS[1])", [`${prefix}mine`], []);
      });
      expect(runs.map((r) => r.keys)).toEqual([[`${prefix}mine`]]);
      expect(violations).toEqual([]);
    } finally {
      direct.disconnect();
    }
  });
});
