// HTTP side of the Upstash REST protocol: routes, bearer auth, status codes, reply bodies.
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { CommandTable } from "./command-table.ts";
import {
  BadRequest,
  type CommandArgs,
  errorJson,
  type Outcome,
  outcomeJson,
  outcomesJson,
  parseBatch,
  parseSingle,
} from "./encoding.ts";
import { type RedisExecutor, RedisUnavailable } from "./executor.ts";
import { keyRefusal, type RecordSizeGuard, requestTooLarge, type UpstashLimits } from "./limits.ts";
import { refusal } from "./policy.ts";
import { type PreparedCommand, prepareCommand } from "./scripts.ts";

const ROUTES = new Set(["/", "/pipeline", "/multi-exec"]);

export interface RequestInfo {
  path: string;
  commands: unknown[][];
}

export interface HandlerOptions {
  token: string;
  executor: RedisExecutor;
  limits: UpstashLimits;
  /** Which arguments are keys and which commands grow keys (from Redis' COMMAND). */
  table: CommandTable;
  records: RecordSizeGuard;
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

async function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    // Past the limit, keep reading (and dropping) to name the actual size, as Upstash does.
    if (size <= maxBytes) chunks.push(chunk as Buffer);
  }
  if (size > maxBytes) throw new HttpError(413, requestTooLarge(maxBytes, size));
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Why each command may not run, if it may not: a command this server refuses (policy.ts), a key
 * name over the limit, or a write that would grow a key past the limit (limits.ts).
 */
async function refusals(
  commands: readonly CommandArgs[],
  opts: HandlerOptions,
): Promise<Array<string | undefined>> {
  const found = commands.map(
    (c) => refusal(c) ?? keyRefusal(opts.table, opts.limits.maxKeyBytes, c),
  );
  const open = commands.filter((_, i) => found[i] === undefined);
  const records = await opts.records.refusals(open);
  let next = 0;
  return found.map((f) => f ?? records[next++]);
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
  const [refused] = await refusals([command], opts);
  if (refused) return [400, errorJson(refused), info];
  const prepared = prepareCommand(command);
  const ran = await opts.executor.run(prepared.command);
  opts.records.wrote([command], [ran]);
  const outcome = prepared.finish(ran);
  return ["error" in outcome ? 400 : 200, outcomeJson(outcome, base64), info];
}

/** `POST /pipeline`: every command runs; errors are per item and the status stays 200. */
async function pipeline(body: string, base64: boolean, opts: HandlerOptions): Promise<Answer> {
  const commands = parseBatch(body);
  const info = { path: "/pipeline", commands };
  opts.onRequest?.(info);
  const refused = await refusals(commands, opts);
  const runnable: PreparedCommand[] = [];
  const outcomes: Array<Outcome | undefined> = commands.map((command, i) => {
    if (refused[i]) return { error: refused[i] };
    runnable.push(prepareCommand(command));
    return undefined;
  });
  const ran = await opts.executor.pipeline(runnable.map((p) => p.command));
  opts.records.wrote(
    commands.filter((_, i) => !refused[i]),
    ran,
  );
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
  const refused = (await refusals(commands, opts)).find((r) => r !== undefined);
  if (refused) return [400, errorJson(refused), info];
  const prepared = commands.map(prepareCommand);
  const result = await opts.executor.transaction(prepared.map((p) => p.command));
  if (!Array.isArray(result)) return [400, errorJson(result.error), info];
  opts.records.wrote(commands, result);
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
      const body = await readBody(req, opts.limits.maxRequestBytes);
      const [status, json, info] = await routes[path as keyof typeof routes](body, base64, opts);
      opts.onServed?.(info);
      // The reply is measured as sent. Over the limit, the whole request fails (a pipeline too:
      // the limit is on the HTTP body, not on an item), after its commands ran.
      const replyBytes = Buffer.byteLength(json);
      if (replyBytes > opts.limits.maxReplyBytes) {
        send(res, 400, errorJson(requestTooLarge(opts.limits.maxReplyBytes, replyBytes)));
      } else {
        send(res, status, json);
      }
    } catch (err) {
      if (err instanceof HttpError) send(res, err.status, errorJson(err.message));
      else if (err instanceof BadRequest) send(res, 400, errorJson(err.message));
      else if (err instanceof RedisUnavailable) send(res, 503, errorJson(err.message));
      else send(res, 500, errorJson(`ERR local-upstash internal error: ${(err as Error).message}`));
    }
  };
}
