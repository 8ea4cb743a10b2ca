// Timing constants shared by the Lua scripts (src/store/lua/*.lua, where they appear as
// {{NAME}}) and the TypeScript around them. tools/embed-lua.ts pastes them into the scripts.

/** A writer refreshes its liveness this often (client clock), so its record is kept. */
export const REFRESH_MS = 10 * 60_000;
/** A writer not refreshed for this long is dead: its dedup record is pruned. */
export const HORIZON_MS = 2 * 3_600_000;
/** A scrape rewrites the janitor mark when it is older than this. */
export const JANITOR_MARK_MS = 10 * 60_000;
/** A flush prunes expired entries itself when no scrape has for this long. */
export const JANITOR_FALLBACK_MS = 3_600_000;
/** Arguments per Redis call from Lua (unpack's limit is about 8,000). */
export const CHUNK = 4000;
/**
 * Series fields one write request carries at most, so a script holds its keys for a bounded
 * time (the write script merges about 10–40 fields per ms here, native ones slowest). A flush
 * touching more is sent in several requests; each costs 3 billed commands more.
 */
export const MAX_REQUEST_FIELDS = CHUNK;
/** Entries one HSCAN of a scrape page asks for, at least and at most. */
export const SCAN_MIN_COUNT = 16;
export const SCAN_MAX_COUNT = 100_000;
