-- The write script. ARGV = client ms, writer id, then batches, oldest first: "b", <seq>, and
-- its ops:
--   "a" field delta                       add a vector of numbers to a sums field
--   "n" field maxBuckets packed           merge a native histogram into a sums field
--   "x" field value                       set a sums field (bucket layouts)
--   "d" field                             delete a sums field
--   "r" prefix                            delete every sums field starting with prefix
--   "g" field expireMs body               set a live gauge field, live for expireMs
--   "q" field sliceMs slices cap tokens   merge sketch tokens into the current time slice
--   "R" prefix                            delete every live field starting with prefix
-- Returns JSON {"a": [1 applied now | 0 skipped as applied before, per batch],
-- "r": ["<seq> <field>", …] fields refused because their value would not be finite}.
local ARITY = { a = 2, n = 3, x = 2, d = 1, r = 1, g = 3, q = 5, R = 1 }
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

-- Reads, all of them before the first write: the writer's record, the janitor mark and every
-- sums field an add or merge touches, in one HMGET.
local function hmget(key, fields)
  local out = {}
  for i = 1, #fields, {{CHUNK}} do
    local j = math.min(i + {{CHUNK}} - 1, #fields)
    local r = redis.call('HMGET', key, unpack(fields, i, j))
    for k = i, j do out[fields[k]] = r[k - i + 1] end
  end
  return out
end
local wfield = 'w' .. writer
local want, seen = { wfield, '~j' }, {}
for _, b in ipairs(batches) do
  for _, at in ipairs(b.ops) do
    local op, f = ARGV[at], ARGV[at + 1]
    if (op == 'a' or op == 'n') and not seen[f] then
      seen[f] = true
      want[#want + 1] = f
    end
  end
end
local sv = hmget(SUMS, want)

-- Which batches to apply: those numbered above the writer's record.
local last, refreshed = 0, nil
if sv[wfield] then
  local s, r = string.match(sv[wfield], '^(%d+) (%d+)$')
  last, refreshed = tonumber(s) or 0, tonumber(r)
end
local applied, todo, timed, resets = {}, {}, false, {}
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

-- The server clock, only when something needs it: gauges, sketches, the writer's liveness
-- (refreshed every {{REFRESH_MS}} ms by its own clock), a prune no scrape has done.
local mark = tonumber(sv['~j'])
local refresh = not refreshed or client_now - refreshed >= {{REFRESH_MS}}
local now
if timed or refresh or not mark or client_now - mark >= {{JANITOR_FALLBACK_MS}} then
  now = server_now()
end
local janitor = now and mark and now - mark >= {{JANITOR_FALLBACK_MS}}

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

-- New values, computed in memory: sw and lw map a field to its new value, or false (delete).
-- Fields are written in the order they were first set (the order metrics drained their
-- series), so a small hash, which Redis keeps in insertion order, scrapes in that order too.
local sw, lw, refused = {}, {}, {}
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

for _, b in ipairs(todo) do
  for _, at in ipairs(b.ops) do
    local op, f = ARGV[at], ARGV[at + 1]
    local v = true
    if op == 'a' then
      v = vadd(get(sw, sv, f), ARGV[at + 2])
      if v then put(sw, f, v) end
    elseif op == 'n' then
      v = native_merge(get(sw, sv, f), ARGV[at + 3], tonumber(ARGV[at + 2]))
      if v then put(sw, f, v) end
    elseif op == 'x' then
      put(sw, f, ARGV[at + 2])
    elseif op == 'd' then
      put(sw, f, false)
    elseif op == 'r' then
      drop_prefix(sw, sums_all, f)
    elseif op == 'R' then
      drop_prefix(lw, live_all, f)
    elseif op == 'g' then
      put(lw, f, string.format('%d', now + tonumber(ARGV[at + 2])) .. ' ' .. ARGV[at + 3])
    else
      local ms, slices = tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3])
      local slice = math.floor(now / ms)
      local lf = f .. '#' .. string.format('%d', slice) .. '/' .. ARGV[at + 2]
      local old = get(lw, lv, lf)
      v = sketch_merge(old and string.match(old, '^%d+ (.*)$'), ARGV[at + 5], tonumber(ARGV[at + 4]))
      if v then put(lw, lf, string.format('%d', (slice + slices) * ms) .. ' ' .. v) end
    end
    if not v then refused[#refused + 1] = b.seq .. ' ' .. f end
  end
end

put(sw, wfield, string.format('%d', last) .. ' ' .. string.format('%d', refresh and client_now or refreshed))
if refresh then put(lw, 'l' .. writer, string.format('%d', now + {{HORIZON_MS}})) end
if not mark then put(sw, '~j', string.format('%d', now)) end
if janitor then
  for j = 1, #live_all, 2 do
    local f = live_all[j]
    local e = expiry(live_all[j + 1])
    if lw[f] == nil and e and e <= now then
      put(lw, f, false)
      if string.sub(f, 1, 1) == 'l' then put(sw, 'w' .. string.sub(f, 2), false) end
    end
  end
  put(sw, '~j', string.format('%d', now))
end

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
return cjson.encode({ a = applied, r = refused })
