-- The read script: everything a prefix holds, as one string, "#<server ms>" then one line
-- "<field>\t<value>" per summed field and per live field that has not expired (dedup records
-- and writer liveness left out). A leading "#" is never valid JSON, so @upstash/redis's
-- automatic deserialization leaves the reply alone. On the way it prunes what has expired:
-- live entries past their time, and the dedup records of dead writers.
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
    out[#out + 1] = f .. '\t' .. sums[j + 1]
  end
end
for j = 1, #live, 2 do
  local f, v = live[j], live[j + 1]
  local e = expiry(v)
  if e and e <= now then
    dead_live[#dead_live + 1] = f
    if string.sub(f, 1, 1) == 'l' then dead_sums[#dead_sums + 1] = 'w' .. string.sub(f, 2) end
  elseif string.sub(f, 1, 1) ~= 'l' then
    out[#out + 1] = f .. '\t' .. v
  end
end
chunks('HDEL', LIVE, dead_live)
chunks('HDEL', SUMS, dead_sums)
-- The mark tells flushes a scrape prunes; rewritten only when it has aged.
if not mark or now - mark >= {{JANITOR_MARK_MS}} then
  redis.call('HSET', SUMS, '~j', string.format('%d', now))
end
return table.concat(out, '\n')
