-- The write script. ARGV = client ms, writer id, most series one metric may hold (0: no bound),
-- then batches, oldest first: "b", <seq>, and its ops:
--   "a" field delta                       add a vector of numbers to a sums field
--   "n" field maxBuckets packed           merge a native histogram into a sums field
--   "x" field value                       set a sums field (bucket layouts)
--   "d" field                             delete a sums field
--   "r" prefix                            delete every sums field starting with prefix
--   "g" field expireMs body               set a live gauge field, live for expireMs
--   "q" field sliceMs slices cap tokens   merge sketch tokens into the current time slice
--   "R" prefix                            delete every live field starting with prefix
-- Every sums value it writes carries a stamp: the server second of the write, coarse (see
-- `stamp` below). A new counter, histogram or summary series counts against its metric's
-- ~n field; past the bound it is refused (existing series are always written).
-- Returns JSON {"a": [1 applied now | 0 skipped as applied before, per batch],
-- "r": ["<seq> <field>", …] fields refused because their value would not be finite,
-- "l": ["<seq> <field>", …] new series refused because their metric holds the bound,
-- "p": true when this writer should prune (see below)}.
local ARITY = {
  [{{OP_ADD}}] = 2, [{{OP_NATIVE}}] = 3, [{{OP_SET}}] = 2, [{{OP_DELETE}}] = 1, [{{OP_RESET}}] = 1,
  [{{OP_GAUGE}}] = 3, [{{OP_SKETCH}}] = 5, [{{OP_RESET_LIVE}}] = 1,
}
local client_now, writer = tonumber(ARGV[1]), ARGV[2]
local bound = tonumber(ARGV[3])
local batches, i = {}, 4
while i <= #ARGV do
  local op = ARGV[i]
  if op == {{OP_BATCH}} then
    batches[#batches + 1] = { seq = tonumber(ARGV[i + 1]), ops = {} }
    i = i + 2
  else
    local b = batches[#batches]
    if not ARITY[op] or not b then return redis.error_reply('ERR malformed batch') end
    b.ops[#b.ops + 1] = i
    i = i + 1 + ARITY[op]
  end
end

-- Reads, all of them before the first write: the writer's record, the janitor's mark, every
-- sums field an add, merge or delete touches and the series counts of their
-- metrics, in one HMGET.
local function hmget(key, fields)
  local out = {}
  for i = 1, #fields, {{CHUNK}} do
    local j = math.min(i + {{CHUNK}} - 1, #fields)
    local r = redis.call('HMGET', key, unpack(fields, i, j))
    for k = i, j do out[fields[k]] = r[k - i + 1] end
  end
  return out
end
local wfield = {{F_WRITER}} .. writer
local want, seen = { wfield, {{F_JANITOR_MARK}} }, {}
local function wanted(f)
  if f and not seen[f] then
    seen[f] = true
    want[#want + 1] = f
  end
end
for _, b in ipairs(batches) do
  for _, at in ipairs(b.ops) do
    local op, f = ARGV[at], ARGV[at + 1]
    if op == {{OP_ADD}} or op == {{OP_NATIVE}} or op == {{OP_DELETE}} then
      wanted(f)
      wanted(count_field(f))
    end
  end
end
local sv = hmget(SUMS, want)

-- Which batches to apply: those numbered above the writer's record, "<seq> <client ms>
-- <server ms>" of its last liveness refresh.
local last, refreshed, refreshed_at = 0, nil, nil
if sv[wfield] then
  local s, r, t = string.match(sv[wfield], '^(%d+) (%d+) ?(%d*)$')
  last, refreshed, refreshed_at = tonumber(s) or 0, tonumber(r), tonumber(t)
end
local applied, todo, timed, resets = {}, {}, false, {}
for k, b in ipairs(batches) do
  if b.seq and b.seq > last then
    applied[k], last = 1, b.seq
    todo[#todo + 1] = b
    for _, at in ipairs(b.ops) do
      local op = ARGV[at]
      if op == {{OP_GAUGE}} or op == {{OP_SKETCH}} then timed = true end
      if op == {{OP_RESET}} or op == {{OP_RESET_LIVE}} then resets[op] = true end
    end
  else
    applied[k] = 0
  end
end
if #todo == 0 then return cjson.encode({ a = applied }) end

-- The server clock, read only when something needs it: gauges, sketches, the writer's liveness
-- (refreshed every {{REFRESH_MS}} ms by its own clock, or when that clock went back), a prune no
-- scrape has done. Otherwise the server time is estimated from the last refresh plus the
-- writer's own clock since: close enough for stamps counted in seconds against a TTL.
local mark = tonumber(sv[{{F_JANITOR_MARK}}])
local refresh = not refreshed_at or client_now < refreshed or client_now - refreshed >= {{REFRESH_MS}}
local now, estimate = nil, nil
if not refresh then estimate = refreshed_at + client_now - refreshed end
if timed or refresh or not mark or estimate - mark >= {{JANITOR_FALLBACK_MS}} then
  now = server_now()
end
local stamp = string.format('%d', math.floor((now or estimate) / 1000)) .. {{SEP_STAMP}}

local lwant, lseen = {}, {}
for _, b in ipairs(todo) do
  for _, at in ipairs(b.ops) do
    if ARGV[at] == {{OP_SKETCH}} then
      local ms = tonumber(ARGV[at + 2])
      local f = ARGV[at + 1] .. {{SEP_LAYOUT}} .. string.format('%d', math.floor(now / ms)) .. '/' .. ARGV[at + 2]
      if not lseen[f] then
        lseen[f] = true
        lwant[#lwant + 1] = f
      end
    end
  end
end
local lv = #lwant > 0 and hmget(LIVE, lwant) or {}
local sums_all = resets[{{OP_RESET}}] and redis.call('HGETALL', SUMS) or {}
local live_all = resets[{{OP_RESET_LIVE}}] and redis.call('HGETALL', LIVE) or {}

-- New values, computed in memory: sw and lw map a field to its new value, or false (delete).
-- Fields are written in the order they were first set (the order metrics drained their
-- series), so a small hash, which Redis keeps in insertion order, scrapes in that order too.
local sw, lw, refused, limited = {}, {}, {}, {}
local order = { [sw] = {}, [lw] = {} }
local function put(w, f, v)
  if w[f] == nil then
    local o = order[w]
    o[#o + 1] = f
  end
  w[f] = v
end
local function get(w, read, f)
  local v = w[f]
  if v == nil then v = read[f] end
  return v or nil
end
-- A sums field's value without its stamp, or nil.
local function value(f)
  local v = get(sw, sv, f)
  if v then
    local _, rest = unstamp(v)
    return rest
  end
  return nil
end
-- Series counts, as read and as changed by this call.
local counts = {}
local function count_of(cf)
  local n = counts[cf]
  if n == nil then n = tonumber(sv[cf]) or 0 end
  return n
end
local function set_count(cf, n)
  counts[cf] = n
  put(sw, cf, n > 0 and string.format('%d', n) or false)
end
-- old + delta, component by component; nil when either is malformed, they differ in length,
-- or a component would not be finite.
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
    if string.sub(all[j], 1, #p) == p then put(w, all[j], false) end
  end
  for f in pairs(w) do
    if string.sub(f, 1, #p) == p then w[f] = false end
  end
end
-- A histogram series as "<metric><key>", from its classic field or its native one.
local function histogram_series(f)
  if string.sub(f, 1, 1) == {{F_NATIVE}} then return string.sub(f, 2) end
  local key = string.find(f, '[', 2, true)
  return string.sub(f, 2, string.find(f, {{SEP_LAYOUT}}, 2, true) - 1) .. string.sub(f, key)
end

-- Histogram series refused as new past the bound: their native buckets are refused with them.
local over = {}
for _, b in ipairs(todo) do
  for _, at in ipairs(b.ops) do
    local op, f = ARGV[at], ARGV[at + 1]
    local v = true
    if op == {{OP_ADD}} then
      local old = value(f)
      local cf = not old and count_field(f)
      if cf and bound > 0 and count_of(cf) >= bound then
        v = false
        if string.sub(f, 1, 1) == {{F_HISTOGRAM}} then over[histogram_series(f)] = true end
      else
        v = vadd(old, ARGV[at + 2])
        if v then
          put(sw, f, stamp .. v)
          if cf then set_count(cf, count_of(cf) + 1) end
        end
      end
    elseif op == {{OP_NATIVE}} then
      local old = value(f)
      if not old and over[histogram_series(f)] then
        v = false
      else
        v = native_merge(old, ARGV[at + 3], tonumber(ARGV[at + 2]))
        if v then put(sw, f, stamp .. v) end
      end
    elseif op == {{OP_SET}} then
      put(sw, f, stamp .. ARGV[at + 2])
    elseif op == {{OP_DELETE}} then
      local cf = value(f) and count_field(f)
      if cf then set_count(cf, count_of(cf) - 1) end
      put(sw, f, false)
    elseif op == {{OP_RESET}} then
      drop_prefix(sw, sums_all, f)
      local t = string.sub(f, 1, 1)
      if t == {{F_COUNTER}} or t == {{F_HISTOGRAM}} or t == {{F_SUMMARY}} then
        set_count({{F_SERIES_COUNT}} .. t .. string.sub(f, 2, -2), 0)
      end
    elseif op == {{OP_RESET_LIVE}} then
      drop_prefix(lw, live_all, f)
    elseif op == {{OP_GAUGE}} then
      put(lw, f, string.format('%d', now + tonumber(ARGV[at + 2])) .. ' ' .. ARGV[at + 3])
    else
      local ms, slices = tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3])
      local slice = math.floor(now / ms)
      local lf = f .. {{SEP_LAYOUT}} .. string.format('%d', slice) .. '/' .. ARGV[at + 2]
      local old = get(lw, lv, lf)
      v = sketch_merge(old and string.match(old, '^%d+ (.*)$'), ARGV[at + 5], tonumber(ARGV[at + 4]))
      if v then put(lw, lf, string.format('%d', (slice + slices) * ms) .. ' ' .. v) end
    end
    if v == false then
      limited[#limited + 1] = b.seq .. ' ' .. f
    elseif not v then
      refused[#refused + 1] = b.seq .. ' ' .. f
    end
  end
end

put(sw, wfield, string.format('%d', last) .. ' ' ..
  string.format('%d', refresh and client_now or refreshed) .. ' ' ..
  string.format('%d', refresh and now or refreshed_at))
if refresh then put(lw, {{F_LIVENESS}} .. writer, string.format('%d', now + {{HORIZON_MS}})) end
if not mark then put(sw, {{F_JANITOR_MARK}}, string.format('%d', now)) end

-- No scrape has finished a prune for {{JANITOR_FALLBACK_MS}} ms: this flush's writer is asked to
-- run one (the read script, page by page: "p" in the reply), and the mark moves now, so no other
-- flush is asked within the hour.
local prune = now and mark and now - mark >= {{JANITOR_FALLBACK_MS}}
if prune then put(sw, {{F_JANITOR_MARK}}, string.format('%d', now)) end

-- Writes. Live first: its first write is the only one that can still fail (someone else's
-- value of another type under the key; sums was checked by HMGET), and a first write that
-- fails leaves everything as it was.
local function write(key, w)
  local set, del = {}, {}
  for _, f in ipairs(order[w]) do
    local v = w[f]
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
write(LIVE, lw)
write(SUMS, sw)
return cjson.encode({ a = applied, r = refused, l = limited, p = prune })
