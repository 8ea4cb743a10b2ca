-- The read script: one page of what a prefix holds. A scrape calls it until it says there is no
-- page after this one, so no request or reply grows with the stored size and no call holds
-- Redis for long. ARGV:
--   1  where to go on: "s<cursor>" in {P}:sums, then "l<cursor>" in {P}:live ("s0" to start)
--   2  series TTL in ms (0: series never leave by age)
--   3  the page's byte budget (field and value bytes; the page stops at the first HSCAN past it)
--   4  entries the first HSCAN asks for; the next ones ask for what the budget has room for
--   5  server ms of the scrape's first page ("" on the first page: this page reads TIME)
--   6  the janitor mark a previous page saw ("" when none)
-- Returns one string: "#<server ms> <next state, or {{SCAN_DONE}} after the last page> <mark or ->
-- <entries its HSCANs asked for>",
-- then one line "<field>\t<value>" per summed field (without its stamp) and per live field that
-- has not expired (dedup records and writer liveness left out). A leading
-- "#" is never valid JSON, so @upstash/redis's automatic deserialization leaves it alone.
-- HSCAN may return an entry twice across pages (never within one): the reader keeps the last.
-- On the way it prunes what it finds expired: live entries past their time, dead writers'
-- records, and sums fields not written for the TTL (their metrics' series counts go down).
local state, ttl, budget, count = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local now = tonumber(ARGV[5]) or server_now()
local mark = tonumber(ARGV[6])
local oldest = ttl > 0 and (now - ttl) / 1000 or nil
local on_sums, cur = string.sub(state, 1, 1) == 's', string.sub(state, 2)
local out = { '' }
local bytes, hash_bytes, hash_entries, asked, total_asked, done = 0, 0, 0, 0, 0, false
local dead_live, dead_sums, gone = {}, {}, {}
while true do
  local r = redis.call('HSCAN', on_sums and SUMS or LIVE, cur, 'COUNT', count)
  asked, total_asked = asked + count, total_asked + count
  local kv = r[2]
  cur = r[1]
  for j = 1, #kv, 2 do
    local f, v = kv[j], kv[j + 1]
    local c = string.sub(f, 1, 1)
    if on_sums then
      if c == {{F_META}} then
        if f == {{F_JANITOR_MARK}} then mark = tonumber(v) end
      elseif c ~= {{F_WRITER}} then
        local st, val = unstamp(v)
        if oldest and st and st < oldest then
          dead_sums[#dead_sums + 1] = f
          local cf = count_field(f)
          if cf then gone[cf] = (gone[cf] or 0) + 1 end
        else
          out[#out + 1] = f .. '\t' .. val
          bytes = bytes + #f + #val + 2
        end
      end
    else
      local e = expiry(v)
      if e and e <= now then
        dead_live[#dead_live + 1] = f
        if c == {{F_LIVENESS}} then dead_sums[#dead_sums + 1] = {{F_WRITER}} .. string.sub(f, 2) end
      elseif c ~= {{F_LIVENESS}} then
        out[#out + 1] = f .. '\t' .. v
        bytes = bytes + #f + #v + 2
      end
    end
    hash_bytes = hash_bytes + #f + #v
  end
  hash_entries = hash_entries + #kv / 2
  if cur == '0' then
    if not on_sums then
      done = true
      break
    end
    on_sums, hash_bytes, hash_entries, asked, count = false, 0, 0, 0, tonumber(ARGV[4])
  end
  if bytes >= budget then break end
  if hash_entries > 0 then
    -- Ask for most of what the rest of the budget likely holds, by this hash's entries so far
    -- and how many entries a COUNT has yielded (fewer than asked in a sparse hash table).
    count = math.floor(0.9 * (budget - bytes) * asked / math.max(hash_bytes, 1))
    count = math.max({{SCAN_MIN_COUNT}}, math.min({{SCAN_MAX_COUNT}}, count))
  end
end

-- Prunes: series counts of the metrics whose fields left, then the fields.
local cfs = {}
for cf in pairs(gone) do cfs[#cfs + 1] = cf end
if #cfs > 0 then
  local held, set = redis.call('HMGET', SUMS, unpack(cfs)), {}
  for k, cf in ipairs(cfs) do
    local n = (tonumber(held[k]) or 0) - gone[cf]
    if n > 0 then
      set[#set + 1] = cf
      set[#set + 1] = string.format('%d', n)
    else
      dead_sums[#dead_sums + 1] = cf
    end
  end
  chunks('HSET', SUMS, set)
end
chunks('HDEL', LIVE, dead_live)
chunks('HDEL', SUMS, dead_sums)
-- The mark tells flushes a scrape prunes; rewritten at the end of a scrape, when it has aged.
if done and (not mark or now - mark >= {{JANITOR_MARK_MS}}) then
  mark = now
  redis.call('HSET', SUMS, {{F_JANITOR_MARK}}, string.format('%d', now))
end
out[1] = '#' .. string.format('%d', now) .. ' ' .. (done and {{SCAN_DONE}} or ((on_sums and 's' or 'l') .. cur))
  .. ' ' .. (mark and string.format('%d', mark) or '-') .. ' ' .. string.format('%d', total_asked)
return table.concat(out, '\n')
