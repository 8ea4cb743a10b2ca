// The summary parts of the write and read scripts (scripts.ts pastes them in). A summary's
// quantiles come from a relative-error sketch (src/sketch) kept per series and time slice:
//
//   {P}:s:<metric>:<slice>:<key>  HASH  sketch buckets of one series in one time slice
//                                       (fields: src/sketch/fields.ts); PEXPIREAT the end of
//                                       the last window that still reads it, plus one slice
//   {P}:si:<metric>               ZSET  series key → time (ms, server clock) of its last write
//
// <slice> = floor(server ms / sliceMs), sliceMs = maxAgeSeconds·1000 / ageBuckets. A scrape
// merges the `ageBuckets` newest slices (the current one included), so the window spans
// between maxAge − one slice and maxAge, as prom-client's rotating buckets do. _sum/_count
// stay in the metric's sums hash ({P}:v:<metric>), all-time.

import { SKETCH_LUA } from "../sketch/lua.ts";

/**
 * Defines apply_summary_ops(base, now, ops) for the write script. ops = Batch.s (batch.ts):
 * each [metric, sliceMs, slices, cap, reset, deleted series keys, [key, increments, …]].
 */
export const SUMMARY_WRITE_LUA = `${SKETCH_LUA}
local function apply_summary_ops(base, now, ops)
  for _, op in ipairs(ops or {}) do
    local slice_ms, slices, cap = tonumber(op[2]), tonumber(op[3]), tonumber(op[4])
    local index = base .. ':si:' .. op[1]
    local prefix = base .. ':s:' .. op[1] .. ':'
    local current = math.floor(now / slice_ms)
    -- every slice key of a series that can still exist: older ones have expired
    local function forget(series)
      for slice = current - slices, current do
        redis.call('DEL', prefix .. string.format('%d', slice) .. ':' .. series)
      end
      redis.call('ZREM', index, series)
    end
    if op[5] == 1 then
      for _, series in ipairs(redis.call('ZRANGE', index, 0, -1)) do forget(series) end
    end
    for _, series in ipairs(op[6]) do forget(series) end
    local touched = op[7]
    if #touched > 0 then
      local slice = string.format('%d', current)
      local expire_at = string.format('%d', (current + slices + 1) * slice_ms)
      for j = 1, #touched, 2 do
        local key = prefix .. slice .. ':' .. touched[j]
        sketch_add(key, touched[j + 1], cap)
        redis.call('PEXPIREAT', key, expire_at)
        redis.call('ZADD', index, now, touched[j])
      end
      redis.call('ZREMRANGEBYSCORE', index, '-inf', now - (slices + 1) * slice_ms)
      redis.call('PEXPIRE', index, (slices + 1) * slice_ms)
    end
  end
end
`;

/**
 * Defines read_summary(base, now, spec) for the read script; spec = "s:<metric>:<sliceMs>:
 * <slices>". Returns { sums hash (flat), { key, merged sketch (flat), key, … } }, the live
 * slices of each series merged here so the reply carries one sketch per series.
 */
export const SUMMARY_READ_LUA = `
local function read_summary(base, now, spec)
  local name, slice_ms, slices = string.match(spec, '^s:(.+):(%d+):(%d+)$')
  slice_ms, slices = tonumber(slice_ms), tonumber(slices)
  local current = math.floor(now / slice_ms)
  local prefix = base .. ':s:' .. name .. ':'
  local live = redis.call('ZRANGEBYSCORE', base .. ':si:' .. name, now - slices * slice_ms, '+inf')
  local sketches = {}
  for _, series in ipairs(live) do
    local counts, fields = {}, {}
    for slice = current - slices + 1, current do
      local hash = redis.call('HGETALL', prefix .. string.format('%d', slice) .. ':' .. series)
      for j = 1, #hash, 2 do
        local field = hash[j]
        if field ~= 'fp' and field ~= 'fn' then
          if counts[field] == nil then
            counts[field] = 0
            fields[#fields + 1] = field
          end
          counts[field] = counts[field] + tonumber(hash[j + 1])
        end
      end
    end
    if #fields > 0 then
      local flat = {}
      for _, field in ipairs(fields) do
        flat[#flat + 1] = field
        flat[#flat + 1] = string.format('%d', counts[field])
      end
      sketches[#sketches + 1] = series
      sketches[#sketches + 1] = flat
    end
  end
  return { redis.call('HGETALL', base .. ':v:' .. name), sketches }
end
`;
