// The two Lua scripts are the whole Redis side of the library: one call per flush, one per
// scrape. Every key a script touches is in its KEYS, so Upstash locks only those two keys
// (`allow-key-locking`) instead of the whole database. Two hashes per prefix P, no TTL on
// either (an eviction policy of the volatile-* kind therefore never takes them):
//
//   {P}:sums  HASH  what is summed forever, plus one dedup record per writer
//     c<metric><key>          counter              "<value>"
//     h<metric>#<layout><key> histogram            "<sum> <count per bucket, +Inf last>"
//     H<metric>#<layout>      its bucket layout    "<bound> <bound> …"
//     s<metric><key>          summary              "<count> <sum>"
//     n<metric><key>          native histogram     "<schema> <zero threshold> <zero count>
//                                                  <count> <sum> p<i>:<c>… n<i>:<c>…"
//     w<writer>               dedup record         "<last applied seq> <client ms of last refresh>"
//     ~j                      janitor mark         server ms of the last prune
//   {P}:live  HASH  what lives for a while; each value starts with the server ms it expires at
//     g<metric>#<instance>    one instance's gauge values   "<deadline> <value> <key>\r…"
//     q<metric><key>#<slice>/<sliceMs>  summary sketch of one time slice  "<end> <tokens>"
//     l<writer>               writer liveness               "<deadline>"
//
// <key> is the JSON array of label values (labels.ts), <layout> a hash of the bucket bounds,
// <writer> a random id per Registry object and <instance> the registry's instance id. A field
// names its metric type, so a histogram and a summary of the same name never share storage.
//
// Exactly once: each writer numbers its batches; a batch is applied only if its number is
// above the writer's record, in the same atomic call. The record carries no TTL. A writer that
// has not refreshed its liveness for HORIZON_MS is dead; its record is pruned then, long after
// any batch of it could still be retried (the flusher drops batches at MAX_BATCH_AGE_MS).
//
// All or nothing: each script reads everything it needs, computes every new value, refuses any
// that would not be finite, and only then writes. A refused field is reported, never written;
// the rest of the batch is applied.
//
// Billed commands (Upstash bills the EVALSHA and each command the script runs): a flush of
// counters and histograms = EVALSHA + HMGET + HSET; gauges add TIME + HSET; summaries add TIME +
// HMGET + HSET; the writer's liveness adds TIME + HSET once per REFRESH_MS. A scrape = EVALSHA +
// TIME + 2 HGETALL, plus an HDEL per hash holding expired entries and an HSET of the janitor
// mark every JANITOR_MARK_MS. Argument lists are cut at CHUNK (unpack's C-stack limit), so a
// flush of more than CHUNK/2 series fields takes one more HSET per CHUNK/2. A native histogram
// series is one more sums field, merged in Lua (native.lua): its buckets never add commands.

// The Lua source with comments is in src/store/lua/ (common.lua, write.lua, read.lua, and the
// merge rules sketch.lua and native.lua); tools/embed-lua.ts turns it into lua.generated.ts.

export { HORIZON_MS, JANITOR_FALLBACK_MS, JANITOR_MARK_MS, REFRESH_MS } from "./constants.ts";
export { READ_SCRIPT, WRITE_SCRIPT } from "./lua.generated.ts";
