-- The Redis side of a sketch, as Lua for the write script: merges one flush's bucket deltas into
-- the sketch stored in one hash field, and keeps each side within the bucket cap, so memory is
-- bounded in Redis itself whatever every instance sends. Same rule as collapseLowest
-- (collapse.ts); test/sketch/lua.test.ts runs both on the same input and compares.
--
--   sketch_merge(old, delta, cap) -> merged tokens, or nil when a token is malformed
--     old, delta: tokens of fields.ts ("i:c", "ni:c", "z:c", floors "fp:i"/"fn:i"); old may be
--     nil. A delta bucket below a side's floor (set by an earlier collapse) is counted in the
--     floor bucket. Past `cap` buckets on a side, the lowest ones are folded into the lowest
--     bucket kept, which becomes the side's floor. Output is sorted, so equal sketches are
--     equal strings.
-- Pure string and table code (Lua 5.1): the cost is one pass over the field, no Redis command.
local function sketch_merge(old, delta, cap)
  local sides, floor, zero = { p = {}, n = {} }, {}, 0
  local function parse(s, clamp)
    for tok in string.gmatch(s, '%S+') do
      local k, v = string.match(tok, '^(.-):(.+)$')
      local c = tonumber(v)
      if not c then return false end
      local f = string.sub(k, 1, 1)
      if f == 'z' then
        zero = zero + c
      elseif f == 'f' then
        floor[string.sub(k, 2)] = c
      else
        local s, i = 'p', tonumber(k)
        if f == 'n' then s, i = 'n', tonumber(string.sub(k, 2)) end
        if not i or c < 0 then return false end
        if clamp and floor[s] and i < floor[s] then i = floor[s] end
        sides[s][i] = (sides[s][i] or 0) + c
      end
    end
    return true
  end
  if (old and not parse(old, false)) or not parse(delta, true) then return nil end
  local out = {}
  for _, s in ipairs({ 'p', 'n' }) do
    local keys = {}
    for i in pairs(sides[s]) do keys[#keys + 1] = i end
    table.sort(keys)
    local excess = #keys - cap
    if excess > 0 then
      local keep = keys[excess + 1]
      for j = 1, excess do sides[s][keep] = sides[s][keep] + sides[s][keys[j]] end
      floor[s] = keep
    end
    local tag = s == 'n' and 'n' or ''
    for j = math.max(excess, 0) + 1, #keys do
      out[#out + 1] = tag .. string.format('%d', keys[j]) .. ':' .. fmt(sides[s][keys[j]])
    end
  end
  if zero > 0 then out[#out + 1] = 'z:' .. fmt(zero) end
  for _, s in ipairs({ 'p', 'n' }) do
    if floor[s] then out[#out + 1] = 'f' .. s .. ':' .. string.format('%d', floor[s]) end
  end
  return table.concat(out, ' ')
end
