// The JSON side of the Upstash REST protocol: request bodies in, replies out.
//
// Replies from Redis arrive untransformed from resp.ts (RESP2):
// bulk/status strings are Buffers, integers are decimal strings (so values beyond 2^53 stay
// exact), nil is null, arrays nest, and an error inside an array is an Error.

/** One Redis command as received: the name then its arguments, all as strings. */
export type CommandArgs = string[];

/** What became of one command: a reply to encode, or an error message. */
export type Outcome = { reply: unknown } | { error: string };

export class BadRequest extends Error {}

function toArgument(value: unknown): string {
  // JSON numbers (and booleans) go to Redis as their text, as the Upstash server does.
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw new BadRequest(
    `ERR command arguments must be strings or numbers, got ${JSON.stringify(value)}`,
  );
}

function toCommand(value: unknown): CommandArgs {
  if (!Array.isArray(value) || value.length === 0) {
    throw new BadRequest('ERR a command must be a non-empty JSON array, e.g. ["get","key"]');
  }
  return value.map(toArgument);
}

function parseJson(body: string): unknown {
  if (body.trim() === "") throw new BadRequest("ERR empty request body, expected a JSON array");
  try {
    return JSON.parse(body);
  } catch {
    throw new BadRequest("ERR request body is not valid JSON");
  }
}

/** `POST /` body: one command such as `["set","k","v"]`. */
export function parseSingle(body: string): CommandArgs {
  return toCommand(parseJson(body));
}

/** `POST /pipeline` and `/multi-exec` body: `[["set","k","v"],["get","k"]]`. */
export function parseBatch(body: string): CommandArgs[] {
  const parsed = parseJson(body);
  if (!Array.isArray(parsed) || parsed.length === 0) {
    throw new BadRequest("ERR expected a non-empty JSON array of commands");
  }
  return parsed.map(toCommand);
}

/** JSON text of one reply value; strings are base64 of their bytes when asked. */
function replyJson(value: unknown, base64: boolean): string {
  if (value === null || value === undefined) return "null";
  if (Buffer.isBuffer(value)) {
    return JSON.stringify(base64 ? value.toString("base64") : value.toString("utf8"));
  }
  // Integers arrive as decimal strings; write them as JSON numbers digit for digit.
  if (typeof value === "string" && /^-?\d+$/.test(value)) return value;
  if (typeof value === "number" && Number.isInteger(value)) return String(value);
  if (Array.isArray(value)) return `[${value.map((v) => replyJson(v, base64)).join(",")}]`;
  if (value instanceof Error) {
    // An error nested inside an array (e.g. a Lua table holding redis.error_reply): RESP2 JSON
    // has no place for it, so it becomes its message as a string.
    return replyJson(Buffer.from(value.message, "utf8"), base64);
  }
  return replyJson(Buffer.from(String(value), "utf8"), base64);
}

export function outcomeJson(outcome: Outcome, base64: boolean): string {
  if ("error" in outcome) return JSON.stringify({ error: outcome.error });
  return `{"result":${replyJson(outcome.reply, base64)}}`;
}

export function outcomesJson(outcomes: Outcome[], base64: boolean): string {
  return `[${outcomes.map((o) => outcomeJson(o, base64)).join(",")}]`;
}

export function errorJson(message: string): string {
  return JSON.stringify({ error: message });
}
