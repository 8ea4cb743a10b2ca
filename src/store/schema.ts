// The store's schema: every key suffix, field prefix, separator and op code the TypeScript side
// (encode.ts, decode.ts, redis-store.ts) and the Lua scripts (src/store/lua/*.lua, where they
// appear as {{NAME}}, pasted in by tools/embed-lua.ts) agree on. Nothing outside src/store/
// imports this file: metrics know metric names and series keys only.
//
//   {P}:sums  HASH  what is summed until it is not written for seriesTtlMs
//     c<metric><key>          counter            "<stamp>|<value>"
//     h<metric>#<layout><key> histogram          "<stamp>|<sum> <count per bucket, +Inf last>"
//     H<metric>#<layout>      its bucket layout  "<stamp>|<bound> <bound> …"
//     s<metric><key>          summary            "<stamp>|<count> <sum>"
//     n<metric><key>          native histogram   "<stamp>|<packed>" (native/packed.ts)
//     ~n<t><metric>           series of that metric and type (t = c, h or s) held here
//     w<writer>               dedup record       "<last seq> <client ms> <server ms>" of the
//                                                last liveness refresh
//     ~j                      janitor mark       server ms of the last complete prune (or of
//                                                a flush's claim to run one)
//   {P}:live  HASH  what lives for a while; each value starts with the server ms it expires at
//     g<metric>#<instance>    one instance's gauge values   "<deadline> <value> <key>\r…"
//     q<metric><key>#<slice>/<sliceMs>  summary sketch of one time slice  "<end> <tokens>"
//     l<writer>               writer liveness               "<deadline>"
//
// <stamp> is the server second of the field's last write (coarse: see write.lua); <key> the
// JSON array of label values (labels.ts), which starts with "[" — no metric name holds "[" or
// "#", so a field parses back unambiguously.

export const SUMS_KEY = "sums";
export const LIVE_KEY = "live";

export const F_COUNTER = "c";
export const F_HISTOGRAM = "h";
export const F_LAYOUT = "H";
export const F_SUMMARY = "s";
export const F_NATIVE = "n";
export const F_WRITER = "w";
export const F_GAUGE = "g";
export const F_SLICE = "q";
export const F_LIVENESS = "l";
/** Fields the scrape skips (bookkeeping): `~` then a letter. */
export const F_META = "~";
export const F_SERIES_COUNT = "~n";
export const F_JANITOR_MARK = "~j";

/** Between a histogram's metric name and its layout id; between a slice's key and its number. */
export const SEP_LAYOUT = "#";
/** Between a stored value's stamp and the value. */
export const SEP_STAMP = "|";

// Write-script op codes (write.lua's header documents their arguments).
export const OP_BATCH = "b";
export const OP_ADD = "a";
export const OP_NATIVE = "n";
export const OP_SET = "x";
export const OP_DELETE = "d";
export const OP_RESET = "r";
export const OP_GAUGE = "g";
export const OP_SKETCH = "q";
export const OP_RESET_LIVE = "R";

/** Read-script cursor states: the hash a page goes on in, then its HSCAN cursor. */
export const SCAN_START = "s0";
/** The read script's "no page after this one". */
export const SCAN_DONE = ".";

/** The two keys of a prefix, in the order both scripts declare them. */
export function keysOf(prefix: string): [sums: string, live: string] {
  return [`{${prefix}}:${SUMS_KEY}`, `{${prefix}}:${LIVE_KEY}`];
}

/** The metric name in a series field (c, h, n, s: the name ends at "#" or at the key's "["). */
export function metricOf(field: string): string {
  let end = field.length;
  for (const sep of [SEP_LAYOUT, "["]) {
    const at = field.indexOf(sep, 1);
    if (at > 0 && at < end) end = at;
  }
  return field.slice(1, end);
}

/** A sums value without its stamp (tests and benchmarks that read Redis directly). */
export function unstamped(value: string): string {
  const at = value.indexOf(SEP_STAMP);
  return at > 0 && /^\d+$/.test(value.slice(0, at)) ? value.slice(at + 1) : value;
}
