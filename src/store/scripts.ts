// The two Lua scripts are the whole Redis side of the library: one call per flush (per request
// part), one per scrape page. Every key a script touches is in its KEYS, so Upstash locks only
// those two keys (`allow-key-locking`) instead of the whole database. The key schema is in
// schema.ts; why it is built this way, and what each call costs in billed commands, in
// docs/design.md.
//
// Exactly once: each writer numbers its batches; a batch is applied only if its number is
// above the writer's record, in the same atomic call. The record carries no TTL. A writer that
// has not refreshed its liveness for HORIZON_MS is dead; its record is pruned then, long after
// any batch of it could still be retried (the flusher drops batches at MAX_BATCH_AGE_MS).
//
// All or nothing: each script reads everything it needs, computes every new value, refuses any
// that would not be finite (or that would pass maxStoredSeriesPerMetric), and only then writes.
// A refused field is reported, never written; the rest of the batch is applied.
//
// The Lua source with comments is in src/store/lua/ (common.lua, write.lua, read.lua, and the
// merge rules sketch.lua and native.lua); tools/embed-lua.ts turns it into lua.generated.ts.

export { HORIZON_MS, JANITOR_FALLBACK_MS, JANITOR_MARK_MS, REFRESH_MS } from "./constants.ts";
export { READ_SCRIPT } from "./lua.generated.ts";

import { SHEBANG, WRITE_BODY } from "./lua.generated.ts";

/**
 * The merge rules the write script carries besides its body: only those of the metric types
 * this isolate uses (a summary's sketch accumulator and a native histogram's accumulator each
 * bring theirs when made), so a Worker without summaries ships no sketch merge. Each set of
 * parts is its own script text and SHA; a part only adds a function, so a script with more
 * parts than a batch needs runs it the same.
 */
const parts = new Set<string>();
/** The write script for `parts`, made again only when a part joins (flushes ask every time). */
let script: string | undefined;

export function useScriptPart(part: string): void {
  if (parts.has(part)) return;
  parts.add(part);
  script = undefined;
}

/** The write script for the parts in use: the shebang first (Upstash reads its flags there). */
export function writeScript(): string {
  script ??= [SHEBANG, ...[...parts].sort(), WRITE_BODY].join("\n");
  return script;
}
