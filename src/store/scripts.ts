// The two Lua scripts are the whole Redis side of the library: one call per flush, one per
// scrape. Key schema (all in one cluster hash slot thanks to the {prefix} hash tag):
//
//   {P}:v:<metric>               HASH  global sums: counter series, histogram "le:<b>"/"sum"
//                                      fields, summary "sum"/"count" fields (field = tag + key)
//   {P}:g:<metric>:<instance>    HASH  one instance's gauge values; PEXPIRE = gauge expire
//   {P}:gi:<metric>              ZSET  instance → deadline (ms, server clock) of its gauge key
//   {P}:batch:<id>               STRING  marks a batch as applied (idempotent retries)
//   {P}:s:<metric>:<slice>:<key> HASH  summary quantile sketch of one series in one time slice
//   {P}:si:<metric>              ZSET  summary series key → last write (ms); both: see
//                                      summary-scripts.ts
//
// <key> is the JSON array of label values; <instance> is a random id per isolate/process.
// Redis 7.0 is enough (no HEXPIRE). Keys are built inside the scripts from KEYS[1], which is
// fine on Redis Cluster because every key shares KEYS[1]'s hash tag.

import { SUMMARY_READ_LUA, SUMMARY_WRITE_LUA } from "./summary-scripts.ts";

/**
 * KEYS[1] = "{P}"; ARGV = batch-id TTL seconds, instance id, then one (batch id, batch JSON)
 * pair per batch, oldest first (batch.ts; id "" = not idempotent). Returns one integer per
 * batch: 1 = applied now, 0 = this id was applied before (a resent batch), so it was skipped.
 */
export const WRITE_SCRIPT = `${SUMMARY_WRITE_LUA}
local base = KEYS[1]
local instance = ARGV[2]
-- Claim each batch id (SET NX) before its batch joins the work, so a batch sent again (a
-- retry after a lost response, a batch carried over from a failed flush) is applied once.
-- The claimed batches are merged section by section, in order, and applied below as one.
local batch = { v = {}, g = {} }
local applied = {}
local claimed = 0
for i = 3, #ARGV, 2 do
  local id = ARGV[i]
  if id == '' or redis.call('SET', base .. ':batch:' .. id, '1', 'NX', 'EX', ARGV[1]) then
    applied[#applied + 1] = 1
    claimed = claimed + 1
    for section, ops in pairs(cjson.decode(ARGV[i + 1])) do
      local into = batch[section]
      if into == nil then
        into = {}
        batch[section] = into
      end
      for _, op in ipairs(ops) do into[#into + 1] = op end
    end
  else
    applied[#applied + 1] = 0
  end
end
if claimed == 0 then return applied end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local function each_chunk(list, fn)
  -- unpack() has a C-stack limit; 4000 arguments per call stays far below it
  for i = 1, #list, 4000 do
    fn(unpack(list, i, math.min(i + 3999, #list)))
  end
end

for _, op in ipairs(batch.v) do
  local key = base .. ':v:' .. op[1]
  if op[2] == 1 then redis.call('DEL', key) end
  each_chunk(op[3], function(...) redis.call('HDEL', key, ...) end)
  local inc = op[4]
  for i = 1, #inc, 2 do
    redis.call('HINCRBYFLOAT', key, inc[i], inc[i + 1])
  end
end

for _, op in ipairs(batch.g) do
  local key = base .. ':g:' .. op[1] .. ':' .. instance
  local index = base .. ':gi:' .. op[1]
  local ttl = op[2]
  if op[3] == 1 then redis.call('DEL', key) end
  each_chunk(op[4], function(...) redis.call('HDEL', key, ...) end)
  each_chunk(op[5], function(...) redis.call('HSET', key, ...) end)
  redis.call('PEXPIRE', key, ttl)
  redis.call('ZADD', index, now + ttl, instance)
  redis.call('ZREMRANGEBYSCORE', index, '-inf', now)
  redis.call('PEXPIRE', index, ttl)
end

apply_summary_ops(base, now, batch.s)
return applied
`;

/**
 * KEYS[1] = "{P}"; ARGV = one spec per metric: "v:<metric>" (its sums hash), "g:<metric>"
 * (the hashes of the instances alive now) or "s:<metric>:<sliceMs>:<slices>" (a summary: its
 * sums hash and merged sketches). Returns one JSON string — a JSON string survives
 * @upstash/redis' automatic deserialization unchanged in meaning, and values stay strings.
 */
export const READ_SCRIPT = `${SUMMARY_READ_LUA}
local base = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i, spec in ipairs(ARGV) do
  local kind = string.sub(spec, 1, 1)
  local name = string.sub(spec, 3)
  if kind == 'v' then
    out[i] = redis.call('HGETALL', base .. ':v:' .. name)
  elseif kind == 'g' then
    local live = redis.call('ZRANGEBYSCORE', base .. ':gi:' .. name, now, '+inf')
    local r = {}
    for _, instance in ipairs(live) do
      r[#r + 1] = instance
      r[#r + 1] = redis.call('HGETALL', base .. ':g:' .. name .. ':' .. instance)
    end
    out[i] = r
  elseif kind == 's' then
    out[i] = read_summary(base, now, spec)
  else
    return redis.error_reply('unknown read spec ' .. spec)
  end
end
return cjson.encode(out)
`;
