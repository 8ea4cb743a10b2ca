// Upstash accepts `#!lua flags=allow-key-locking` as a script's first line (lock only the keys
// in KEYS); stock Redis refuses the flag. This strips it before Redis sees the script and maps
// the SHA1 the client computed (of the text it sent) to the one Redis knows, so EVALSHA works.
import { createHash } from "node:crypto";
import type { CommandArgs } from "./encoding.ts";

const SHEBANG = "#!lua flags=allow-key-locking\n";
const redisShaOf = new Map<string, string>();

function sha1(text: string): string {
  return createHash("sha1").update(text).digest("hex");
}

/** The command as Redis must receive it. */
export function withoutUpstashFlags(command: CommandArgs): CommandArgs {
  const name = (command[0] ?? "").toLowerCase();
  const [, first = "", ...rest] = command;
  if ((name === "eval" || name === "eval_ro") && first.startsWith(SHEBANG)) {
    const body = first.slice(SHEBANG.length);
    redisShaOf.set(sha1(first), sha1(body));
    return [command[0]!, body, ...rest];
  }
  if (name === "evalsha" || name === "evalsha_ro") {
    const known = redisShaOf.get(first.toLowerCase());
    if (known !== undefined) return [command[0]!, known, ...rest];
  }
  return command;
}
