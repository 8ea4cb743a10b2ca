// HTTP side of the Upstash REST protocol: routes, bearer auth, status codes, reply bodies.
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  BadRequest,
  errorJson,
  type Outcome,
  outcomeJson,
  outcomesJson,
  parseBatch,
  parseSingle,
} from "./encoding.ts";
import { type RedisExecutor, RedisUnavailable } from "./executor.ts";
import { refusal } from "./policy.ts";
import { type PreparedCommand, prepareCommand } from "./scripts.ts";

/** Upstash's request size limit (free and pay-as-you-go plans). */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

const ROUTES = new Set(["/", "/pipeline", "/multi-exec"]);

export interface RequestInfo {
  path: string;
  commands: unknown[][];
}

export interface HandlerOptions {
  token: string;
  executor: RedisExecutor;
  onRequest?: (info: RequestInfo) => void;
  /** Called once a request was answered with Redis reachable (its commands were served). */
  onServed?: (info: RequestInfo) => void;
}

type Answer = [status: number, body: string, info: RequestInfo];

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/** Constant-time check of `Authorization: Bearer <token>` (digests make the lengths equal). */
function authorized(header: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer (.*)$/i.exec(header ?? "");
  if (!match) return false;
  return timingSafeEqual(digest(match[1] ?? ""), expected);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, "ERR max request size exceeded");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

/** `POST /`: one command; a failed or refused command is a 400. */
async function single(body: string, base64: boolean, opts: HandlerOptions): Promise<Answer> {
  const command = parseSingle(body);
  const info = { path: "/", commands: [command] };
  opts.onRequest?.(info);
  const refused = refusal(command);
  const prepared = prepareCommand(command);
  const outcome = refused
    ? { error: refused }
    : prepared.finish(await opts.executor.run(prepared.command));
  return ["error" in outcome ? 400 : 200, outcomeJson(outcome, base64), info];
}

/** `POST /pipeline`: every command runs; errors are per item and the status stays 200. */
async function pipeline(body: string, base64: boolean, opts: HandlerOptions): Promise<Answer> {
  const commands = parseBatch(body);
  const info = { path: "/pipeline", commands };
  opts.onRequest?.(info);
  const runnable: PreparedCommand[] = [];
  const outcomes: Array<Outcome | undefined> = commands.map((command) => {
    const refused = refusal(command);
    if (refused) return { error: refused };
    runnable.push(prepareCommand(command));
    return undefined;
  });
  const ran = await opts.executor.pipeline(runnable.map((p) => p.command));
  let next = 0;
  const merged = outcomes.map((o) => {
    if (o) return o;
    const i = next++;
    return runnable[i]!.finish(ran[i]!);
  });
  return [200, outcomesJson(merged, base64), info];
}

/** `POST /multi-exec`: atomic; a transaction Redis discarded as a whole is one 400 error. */
async function multiExec(body: string, base64: boolean, opts: HandlerOptions): Promise<Answer> {
  const commands = parseBatch(body);
  const info = { path: "/multi-exec", commands };
  opts.onRequest?.(info);
  const refused = commands.map(refusal).find((r) => r !== undefined);
  if (refused) return [400, errorJson(refused), info];
  const prepared = commands.map(prepareCommand);
  const result = await opts.executor.transaction(prepared.map((p) => p.command));
  if (!Array.isArray(result)) return [400, errorJson(result.error), info];
  return [
    200,
    outcomesJson(
      result.map((o, i) => prepared[i]!.finish(o)),
      base64,
    ),
    info,
  ];
}

export function createHandler(
  opts: HandlerOptions,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const expectedToken = digest(opts.token);
  const routes = { "/": single, "/pipeline": pipeline, "/multi-exec": multiExec };

  return async (req, res) => {
    try {
      const path = new URL(req.url ?? "/", "http://local").pathname;
      if (!ROUTES.has(path)) throw new HttpError(404, `ERR unknown route ${path}`);
      if (req.method !== "POST") {
        res.setHeader("allow", "POST");
        throw new HttpError(405, `ERR method ${req.method} not allowed, use POST`);
      }
      if (!authorized(req.headers.authorization, expectedToken)) {
        throw new HttpError(401, "ERR unauthorized: missing or wrong bearer token");
      }
      // Upstash-Encoding: base64 asks for every string in the result as base64 of its bytes.
      const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
      const body = await readBody(req);
      const [status, json, info] = await routes[path as keyof typeof routes](body, base64, opts);
      opts.onServed?.(info);
      send(res, status, json);
    } catch (err) {
      if (err instanceof HttpError) send(res, err.status, errorJson(err.message));
      else if (err instanceof BadRequest) send(res, 400, errorJson(err.message));
      else if (err instanceof RedisUnavailable) send(res, 503, errorJson(err.message));
      else send(res, 500, errorJson(`ERR local-upstash internal error: ${(err as Error).message}`));
    }
  };
}
