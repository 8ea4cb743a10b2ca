// Exact wire shapes of the local Upstash server, checked with plain fetch: status codes, body
// text, base64 per item, auth, routes and refused commands.
import { beforeAll, describe, expect, it } from "vitest";
import { sharedStack, uniquePrefix } from "../helpers/stack.ts";

interface Reply {
  status: number;
  text: string;
  headers: Headers;
}

interface PostOptions {
  token?: string | null; // null: no Authorization header at all
  base64?: boolean;
  method?: string;
  headers?: Record<string, string>;
}

async function post(path: string, body: unknown, opts: PostOptions = {}): Promise<Reply> {
  const { url, token } = sharedStack();
  const headers: Record<string, string> = { "content-type": "application/json", ...opts.headers };
  const bearer = opts.token === undefined ? token : opts.token;
  if (bearer !== null) headers["authorization"] = `Bearer ${bearer}`;
  if (opts.base64) headers["upstash-encoding"] = "base64";
  const method = opts.method ?? "POST";
  const res = await fetch(url + path, {
    method,
    headers,
    body:
      method === "GET" || method === "HEAD"
        ? undefined
        : typeof body === "string"
          ? body
          : JSON.stringify(body),
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

let p: string;
beforeAll(() => {
  p = uniquePrefix("wire");
});

describe("single command: POST /", () => {
  it("answers {result} with status 200, strings in plain text without the encoding header", async () => {
    expect(await post("/", ["set", `${p}k`, "héllo"])).toMatchObject({
      status: 200,
      text: '{"result":"OK"}',
    });
    expect(await post("/", ["get", `${p}k`])).toMatchObject({
      status: 200,
      text: '{"result":"héllo"}',
    });
  });

  it("base64-encodes strings, status replies included, when asked", async () => {
    const got = await post("/", ["get", `${p}k`], { base64: true });
    expect(got.text).toBe(`{"result":"${b64("héllo")}"}`);
    expect((await post("/", ["set", `${p}k2`, "v"], { base64: true })).text).toBe(
      `{"result":"${b64("OK")}"}`,
    );
  });

  it("answers nil as an explicit null result", async () => {
    for (const base64 of [false, true]) {
      const got = await post("/", ["get", `${p}missing`], { base64 });
      expect(got).toMatchObject({ status: 200, text: '{"result":null}' });
    }
  });

  it("answers integers as JSON numbers, exactly, even beyond 2^53", async () => {
    const got = await post("/", ["incrby", `${p}big`, "9007199254740993"], { base64: true });
    expect(got.text).toBe('{"result":9007199254740993}');
  });

  it("sends JSON numbers to Redis as their text", async () => {
    await post("/", ["set", `${p}num`, 1.5]);
    expect((await post("/", ["get", `${p}num`])).text).toBe('{"result":"1.5"}');
    expect((await post("/", ["incrby", `${p}n2`, 7])).text).toBe('{"result":7}');
    expect((await post("/", ["expire", `${p}n2`, 100])).text).toBe('{"result":1}');
  });

  it("base64-encodes bytes that are not UTF-8 exactly", async () => {
    const got = await post("/", ["eval", "return string.char(255, 0, 128, 10)", "0"], {
      base64: true,
    });
    expect(got.text).toBe(`{"result":"${Buffer.from([255, 0, 128, 10]).toString("base64")}"}`);
  });

  it("base64-encodes every string at any depth, leaving integers and nil alone", async () => {
    const script = "return {1, 'a', {2, {'é', 'OK'}}, {}}";
    const got = await post("/", ["eval", script, "0"], { base64: true });
    expect(JSON.parse(got.text)).toEqual({ result: [1, b64("a"), [2, [b64("é"), b64("OK")]], []] });
    const plain = await post("/", ["eval", script, "0"]);
    expect(JSON.parse(plain.text)).toEqual({ result: [1, "a", [2, ["é", "OK"]], []] });
  });

  it("keeps RESP2 shapes: HGETALL and ZRANGE WITHSCORES are flat arrays", async () => {
    await post("/", ["hset", `${p}h`, "f1", "v1", "f2", "2"]);
    const h = await post("/", ["hgetall", `${p}h`], { base64: true });
    expect(JSON.parse(h.text)).toEqual({ result: [b64("f1"), b64("v1"), b64("f2"), b64("2")] });
    await post("/", ["zadd", `${p}z`, "1.5", "a", "2", "b"]);
    const z = await post("/", ["zrange", `${p}z`, "0", "-1", "WITHSCORES"]);
    expect(z.text).toBe('{"result":["a","1.5","b","2"]}');
  });

  it("answers a failed command with status 400 and {error}", async () => {
    await post("/", ["set", `${p}s`, "text"]);
    const got = await post("/", ["incr", `${p}s`], { base64: true });
    expect(got.status).toBe(400);
    expect(got.text).toBe('{"error":"ERR value is not an integer or out of range"}');
    const unknown = await post("/", ["nosuchcommand", "x"]);
    expect(unknown.status).toBe(400);
    expect(JSON.parse(unknown.text).error).toMatch(/^ERR unknown command/);
  });

  it("answers JSON with content-type application/json", async () => {
    const got = await post("/", ["ping"]);
    expect(got.headers.get("content-type")).toBe("application/json");
    expect(got.text).toBe('{"result":"PONG"}');
  });

  it("accepts any upstash-sync-token", async () => {
    const got = await post("/", ["ping"], { headers: { "upstash-sync-token": "whatever-123" } });
    expect(got.status).toBe(200);
  });
});

describe("POST /pipeline", () => {
  it("answers one item per command with per-item errors and status 200", async () => {
    const got = await post(
      "/pipeline",
      [
        ["set", `${p}pk`, "ü"],
        ["incr", `${p}pk`],
        ["get", `${p}pk`],
        ["get", `${p}pmissing`],
        ["incr", `${p}pcount`],
      ],
      { base64: true },
    );
    expect(got.status).toBe(200);
    expect(JSON.parse(got.text)).toEqual([
      { result: b64("OK") },
      { error: "ERR value is not an integer or out of range" },
      { result: b64("ü") },
      { result: null },
      { result: 1 },
    ]);
    expect(got.text).toContain('{"result":null}');
  });

  it("runs the commands in order", async () => {
    const cmds = Array.from({ length: 50 }, (_, i) => ["rpush", `${p}order`, String(i)]);
    await post("/pipeline", cmds);
    const got = await post("/", ["lrange", `${p}order`, "0", "-1"]);
    expect(JSON.parse(got.text).result).toEqual(cmds.map((c) => c[2]));
  });
});

describe("POST /multi-exec", () => {
  it("answers one item per command; a run-time error stays in its item", async () => {
    const got = await post(
      "/multi-exec",
      [
        ["set", `${p}mk`, "a"],
        ["incr", `${p}mk`],
        ["get", `${p}mk`],
        ["get", `${p}mmissing`],
      ],
      { base64: true },
    );
    expect(got.status).toBe(200);
    expect(JSON.parse(got.text)).toEqual([
      { result: b64("OK") },
      { error: "ERR value is not an integer or out of range" },
      { result: b64("a") },
      { result: null },
    ]);
  });

  it("answers a transaction discarded as a whole (EXECABORT) with one {error} and status 400", async () => {
    const got = await post("/multi-exec", [["set", `${p}aborted`, "1"], ["nosuchcommand"]]);
    expect(got.status).toBe(400);
    const body = JSON.parse(got.text);
    expect(Object.keys(body)).toEqual(["error"]);
    expect(body.error).toMatch(/unknown command/);
    expect(body.error).toMatch(/EXECABORT/);
    expect((await post("/", ["exists", `${p}aborted`])).text).toBe('{"result":0}');
  });
});

describe("auth", () => {
  it("answers 401 without a token", async () => {
    const got = await post("/", ["ping"], { token: null });
    expect(got.status).toBe(401);
    expect(JSON.parse(got.text)).toEqual({ error: expect.stringMatching(/unauthorized/i) });
  });

  it("answers 401 for a wrong token, a token of another length, and a non-Bearer scheme", async () => {
    const { token } = sharedStack();
    const wrongSameLength = token.slice(0, -1) + (token.endsWith("a") ? "b" : "a");
    for (const bad of [wrongSameLength, "x", `${token}x`, ""]) {
      expect((await post("/pipeline", [["ping"]], { token: bad })).status).toBe(401);
    }
    const basic = await post("/", ["ping"], {
      token: null,
      headers: { authorization: `Basic ${token}` },
    });
    expect(basic.status).toBe(401);
  });

  it("runs nothing for an unauthorized request", async () => {
    await post("/", ["set", `${p}unauth`, "1"], { token: "wrong" });
    expect((await post("/", ["exists", `${p}unauth`])).text).toBe('{"result":0}');
  });
});

describe("bad requests and routes", () => {
  it.each([
    ["an empty body", "/", ""],
    ["malformed JSON", "/", '["set", "k"'],
    ["a JSON object", "/", '{"command":"ping"}'],
    ["an empty command", "/", "[]"],
    ["a null argument", "/", '["set","k",null]'],
    ["an object argument", "/", '["set","k",{"a":1}]'],
    ["an empty pipeline", "/pipeline", "[]"],
    ["a pipeline of non-arrays", "/pipeline", '["ping"]'],
    ["malformed JSON in a pipeline", "/pipeline", '[["ping"]'],
    ["an empty transaction", "/multi-exec", "[]"],
  ])("answers 400 with {error} for %s", async (_, path, body) => {
    const got = await post(path, body);
    expect(got.status).toBe(400);
    expect(JSON.parse(got.text)).toEqual({ error: expect.stringMatching(/^ERR /) });
  });

  it("answers 404 for an unknown route", async () => {
    for (const path of ["/nope", "/get/key", "/pipeline/extra"]) {
      const got = await post(path, ["ping"]);
      expect(got.status).toBe(404);
      expect(JSON.parse(got.text)).toEqual({ error: expect.stringMatching(/unknown route/) });
    }
  });

  it("answers 405 for methods other than POST", async () => {
    for (const [method, path] of [
      ["GET", "/"],
      ["PUT", "/pipeline"],
      ["DELETE", "/multi-exec"],
    ] as const) {
      const got = await post(path, ["ping"], { method });
      expect(got.status).toBe(405);
      expect(got.headers.get("allow")).toBe("POST");
      expect(JSON.parse(got.text)).toEqual({ error: expect.stringMatching(/not allowed/) });
    }
  });
});

describe("refused commands", () => {
  it.each([
    ["MULTI"],
    ["EXEC"],
    ["WATCH", "k"],
    ["UNWATCH"],
    ["DISCARD"],
    ["SELECT", "1"],
    ["BLPOP", "k", "0"],
    ["BRPOP", "k", "0"],
    ["BLMOVE", "a", "b", "LEFT", "RIGHT", "0"],
    ["BZPOPMIN", "k", "0"],
    ["XREAD", "BLOCK", "0", "STREAMS", "s", "$"],
    ["WAIT", "0", "0"],
    ["SUBSCRIBE", "c"],
    ["PSUBSCRIBE", "c*"],
    ["MONITOR"],
    ["QUIT"],
    ["RESET"],
    ["CLIENT", "KILL", "127.0.0.1:1"],
    ["HELLO", "3"],
    ["AUTH", "x"],
    ["SHUTDOWN"],
  ])("refuses %s with a clear 400 error", async (...command) => {
    const got = await post("/", command);
    expect(got.status).toBe(400);
    expect(JSON.parse(got.text).error).toMatch(
      new RegExp(`^ERR Command is not allowed: ${command[0]} \\(`),
    );
  });

  it("refuses them per item in a pipeline, running the rest", async () => {
    const got = await post("/pipeline", [
      ["set", `${p}r1`, "1"],
      ["select", "2"],
      ["get", `${p}r1`],
    ]);
    expect(got.status).toBe(200);
    const items = JSON.parse(got.text);
    expect(items[0]).toEqual({ result: "OK" });
    expect(items[1].error).toMatch(/not allowed: SELECT/);
    expect(items[2]).toEqual({ result: "1" });
  });

  it("refuses a transaction holding one, running none of it", async () => {
    const got = await post("/multi-exec", [
      ["set", `${p}r2`, "1"],
      ["blpop", `${p}list`, "1"],
    ]);
    expect(got.status).toBe(400);
    expect(JSON.parse(got.text).error).toMatch(/not allowed: BLPOP/);
    expect((await post("/", ["exists", `${p}r2`])).text).toBe('{"result":0}');
  });

  it("lets XREAD without BLOCK through", async () => {
    await post("/", ["xadd", `${p}stream`, "*", "f", "v"]);
    const got = await post("/", ["xread", "COUNT", "1", "STREAMS", `${p}stream`, "0"]);
    expect(got.status).toBe(200);
    expect(JSON.parse(got.text).result[0][0]).toBe(`${p}stream`);
  });

  it("leaves the shared connection usable afterwards (still on db 0)", async () => {
    await post("/", ["set", `${p}db0`, "here"]);
    await post("/", ["select", "3"]);
    expect((await post("/", ["get", `${p}db0`])).text).toBe('{"result":"here"}');
  });
});
