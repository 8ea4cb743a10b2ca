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
// flush of more than CHUNK/2 series fields takes one more HSET per CHUNK/2.

import { SKETCH_LUA } from "../sketch/lua.ts";

/** A writer refreshes its liveness this often (client clock), so its record is kept. */
export const REFRESH_MS = 10 * 60_000;
/** A writer not refreshed for this long is dead: its dedup record is pruned. */
export const HORIZON_MS = 2 * 3_600_000;
/** A scrape rewrites the janitor mark when it is older than this. */
export const JANITOR_MARK_MS = 10 * 60_000;
/** A flush prunes expired entries itself when no scrape has for this long. */
export const JANITOR_FALLBACK_MS = 3_600_000;
/** Arguments per Redis call from Lua (unpack's limit is about 8,000). */
const CHUNK = 4000;

const COMMON_LUA = `
local SUMS, LIVE = KEYS[1], KEYS[2]
local function fmt(x)
  local s = string.format('%.15g', x)
  if tonumber(s) ~= x then s = string.format('%.16g', x) end
  if tonumber(s) ~= x then s = string.format('%.17g', x) end
  return s
end
local function chunks(cmd, key, list)
  for i = 1, #list, ${CHUNK} do
    redis.call(cmd, key, unpack(list, i, math.min(i + ${CHUNK - 1}, #list)))
  end
end
local function server_now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function expiry(v)
  return tonumber(string.match(v, '^%d+'))
end
`;

/**
 * KEYS = {P}:sums, {P}:live. ARGV = client ms, writer id, then batches, oldest first: "b",
 * <seq>, and its ops:
 *   "a" field delta            add a vector of numbers to a sums field
 *   "x" field value            set a sums field (bucket layouts)
 *   "d" field                  delete a sums field
 *   "r" prefix                 delete every sums field starting with prefix
 *   "g" field expireMs body    set a live gauge field, live for expireMs
 *   "q" field sliceMs slices cap tokens   merge sketch tokens into the current slice
 *   "R" prefix                 delete every live field starting with prefix
 * Returns JSON {"a": [1|0 per batch: applied now | skipped as already applied], "r": ["<seq>
 * <field>", …] refused (not finite)}.
 */
export const WRITE_SCRIPT = `#!lua flags=allow-key-locking
${COMMON_LUA}${SKETCH_LUA}
local ARITY = { a = 2, x = 2, d = 1, r = 1, g = 3, q = 5, R = 1 }
local client_now, writer = tonumber(ARGV[1]), ARGV[2]
local batches, i = {}, 3
while i <= #ARGV do
  local op = ARGV[i]
  if op == 'b' then
    batches[#batches + 1] = { seq = tonumber(ARGV[i + 1]), ops = {} }
    i = i + 2
  else
    local b = batches[#batches]
    if not ARITY[op] or not b then return redis.error_reply('ERR malformed batch') end
    b.ops[#b.ops + 1] = i
    i = i + 1 + ARITY[op]
  end
end

local wfield = 'w' .. writer
local want, seen = { wfield, '~j' }, {}
for _, b in ipairs(batches) do
  for _, at in ipairs(b.ops) do
    local f = ARGV[at + 1]
    if ARGV[at] == 'a' and not seen[f] then
      seen[f] = true
      want[#want + 1] = f
    end
  end
end
local function hmget(key, fields)
  local out = {}
  for i = 1, #fields, ${CHUNK} do
    local j = math.min(i + ${CHUNK - 1}, #fields)
    local r = redis.call('HMGET', key, unpack(fields, i, j))
    for k = i, j do out[fields[k]] = r[k - i + 1] end
  end
  return out
end
local sv = hmget(SUMS, want)

local last, refreshed = 0, nil
if sv[wfield] then
  local s, r = string.match(sv[wfield], '^(%d+) (%d+)$')
  last, refreshed = tonumber(s) or 0, tonumber(r)
end
local applied, todo, timed, resets = {}, {}, false, { r = false, R = false }
for k, b in ipairs(batches) do
  if b.seq and b.seq > last then
    applied[k], last = 1, b.seq
    todo[#todo + 1] = b
    for _, at in ipairs(b.ops) do
      local op = ARGV[at]
      if op == 'g' or op == 'q' then timed = true end
      if op == 'r' or op == 'R' then resets[op] = true end
    end
  else
    applied[k] = 0
  end
end
if #todo == 0 then return cjson.encode({ a = applied }) end

local mark = tonumber(sv['~j'])
local refresh = not refreshed or client_now - refreshed >= ${REFRESH_MS}
local now
if timed or refresh or not mark or client_now - mark >= ${JANITOR_FALLBACK_MS} then
  now = server_now()
end
local janitor = now and mark and now - mark >= ${JANITOR_FALLBACK_MS}

local lwant, lseen = {}, {}
for _, b in ipairs(todo) do
  for _, at in ipairs(b.ops) do
    if ARGV[at] == 'q' then
      local ms = tonumber(ARGV[at + 2])
      local f = ARGV[at + 1] .. '#' .. string.format('%d', math.floor(now / ms)) .. '/' .. ARGV[at + 2]
      if not lseen[f] then
        lseen[f] = true
        lwant[#lwant + 1] = f
      end
    end
  end
end
local lv = #lwant > 0 and hmget(LIVE, lwant) or {}
local sums_all = resets.r and redis.call('HGETALL', SUMS) or {}
local live_all = (resets.R or janitor) and redis.call('HGETALL', LIVE) or {}

local sw, lw, refused = {}, {}, {}
local function get(w, read, f)
  local v = w[f]
  if v == nil then v = read[f] end
  return v or nil
end
local function vadd(old, delta)
  local d, m = {}, 0
  for t in string.gmatch(delta, '%S+') do
    m = m + 1
    d[m] = tonumber(t)
    if not d[m] then return nil end
  end
  if old then
    local n = 0
    for t in string.gmatch(old, '%S+') do
      n = n + 1
      local x = tonumber(t)
      if not x or not d[n] then return nil end
      d[n] = d[n] + x
    end
    if n ~= #d then return nil end
  end
  for n = 1, #d do
    local x = d[n]
    if not x or x ~= x or x == math.huge or x == -math.huge then return nil end
    d[n] = fmt(x)
  end
  return table.concat(d, ' ')
end
local function drop_prefix(w, all, p)
  for j = 1, #all, 2 do
    if string.sub(all[j], 1, #p) == p then w[all[j]] = false end
  end
  for f in pairs(w) do
    if string.sub(f, 1, #p) == p then w[f] = false end
  end
end

for _, b in ipairs(todo) do
  for _, at in ipairs(b.ops) do
    local op, f = ARGV[at], ARGV[at + 1]
    if op == 'a' then
      local v = vadd(get(sw, sv, f), ARGV[at + 2])
      if v then sw[f] = v else refused[#refused + 1] = b.seq .. ' ' .. f end
    elseif op == 'x' then
      sw[f] = ARGV[at + 2]
    elseif op == 'd' then
      sw[f] = false
    elseif op == 'r' then
      drop_prefix(sw, sums_all, f)
    elseif op == 'R' then
      drop_prefix(lw, live_all, f)
    elseif op == 'g' then
      lw[f] = string.format('%d', now + tonumber(ARGV[at + 2])) .. ' ' .. ARGV[at + 3]
    else
      local ms, slices = tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3])
      local slice = math.floor(now / ms)
      local lf = f .. '#' .. string.format('%d', slice) .. '/' .. ARGV[at + 2]
      local old = get(lw, lv, lf)
      local merged = sketch_merge(old and string.match(old, '^%d+ (.*)$'), ARGV[at + 5], tonumber(ARGV[at + 4]))
      if merged then
        lw[lf] = string.format('%d', (slice + slices) * ms) .. ' ' .. merged
      else
        refused[#refused + 1] = b.seq .. ' ' .. f
      end
    end
  end
end

sw[wfield] = string.format('%d', last) .. ' ' .. string.format('%d', refresh and client_now or refreshed)
if refresh then lw['l' .. writer] = string.format('%d', now + ${HORIZON_MS}) end
if not mark then sw['~j'] = string.format('%d', now) end
if janitor then
  for j = 1, #live_all, 2 do
    local f = live_all[j]
    local e = expiry(live_all[j + 1])
    if lw[f] == nil and e and e <= now then
      lw[f] = false
      if string.sub(f, 1, 1) == 'l' then sw['w' .. string.sub(f, 2)] = false end
    end
  end
  sw['~j'] = string.format('%d', now)
end

local function write(key, w)
  local set, del = {}, {}
  for f, v in pairs(w) do
    if v then
      set[#set + 1] = f
      set[#set + 1] = v
    else
      del[#del + 1] = f
    end
  end
  chunks('HDEL', key, del)
  chunks('HSET', key, set)
end
-- Live first: its first write is the only one that can still fail (someone else's value of
-- another type under the key; sums was checked by HMGET), and a first write that fails leaves
-- everything as it was.
write(LIVE, lw)
write(SUMS, sw)
return cjson.encode({ a = applied, r = refused })
`;

/**
 * KEYS = {P}:sums, {P}:live. Returns one string: "#<server ms>" then a line "<field>\t<value>"
 * for every summed field and every live field that has not expired (dedup records left out).
 * Prunes what has expired: live entries past their time, and the dedup records of dead
 * writers. A string with a leading "#" is never valid JSON, so @upstash/redis's automatic
 * deserialization leaves it alone.
 */
export const READ_SCRIPT = `#!lua flags=allow-key-locking
${COMMON_LUA}
local now = server_now()
local sums = redis.call('HGETALL', SUMS)
local live = redis.call('HGETALL', LIVE)
local out, dead_live, dead_sums, mark = { '#' .. string.format('%d', now) }, {}, {}, nil
for j = 1, #sums, 2 do
  local f = sums[j]
  local c = string.sub(f, 1, 1)
  if c == '~' then
    if f == '~j' then mark = tonumber(sums[j + 1]) end
  elseif c ~= 'w' then
    out[#out + 1] = f .. '\\t' .. sums[j + 1]
  end
end
for j = 1, #live, 2 do
  local f, v = live[j], live[j + 1]
  local e = expiry(v)
  if e and e <= now then
    dead_live[#dead_live + 1] = f
    if string.sub(f, 1, 1) == 'l' then dead_sums[#dead_sums + 1] = 'w' .. string.sub(f, 2) end
  elseif string.sub(f, 1, 1) ~= 'l' then
    out[#out + 1] = f .. '\\t' .. v
  end
end
chunks('HDEL', LIVE, dead_live)
chunks('HDEL', SUMS, dead_sums)
if not mark or now - mark >= ${JANITOR_MARK_MS} then
  redis.call('HSET', SUMS, '~j', string.format('%d', now))
end
return table.concat(out, '\\n')
`;
