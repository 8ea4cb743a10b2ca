// The Redis side of native histograms, as Lua to paste into the flush script (Redis 7.0,
// Lua 5.1; pure string and table code, no redis.call). It merges one flush's packed delta
// (packed.ts) into the packed value of a hash field by the rule of mergePacked, so every
// instance adds into one global histogram and Redis keeps it within max_buckets.
// test/native/lua.test.ts runs both on the same inputs and expects identical strings.
//
//   local merged, err = native_merge(old, delta, max_buckets)
//     old: the field's current value, or nil/false when the field does not exist.
//     delta: the packed delta. max_buckets: the histogram's bucket cap (a number).
//     Returns the merged packed string, or nil and "bad native histogram: …" when either input
//     is malformed, the sum is not finite or a count passes 2^53: refuse the field then,
//     before any write.
//
// Cost: parses both strings and rewrites the result, O(buckets) (a sort per side).

export const NATIVE_LUA = `
local native_fraction_tables
local function native_fraction(schema, j)
  if not native_fraction_tables then
    local t, f = { { 0.5 } }, 1.414213562373095
    for s = 1, 8 do
      local prev, cur = t[s], {}
      for k = 1, #prev do
        cur[2 * k - 1] = prev[k]
        cur[2 * k] = prev[k] * f
      end
      t[s + 1] = cur
      f = math.sqrt(f)
    end
    native_fraction_tables = t
  end
  return native_fraction_tables[schema + 1][j + 1]
end

local function native_inside_zero(i, schema, zf, ze)
  if schema <= 0 then return i * 2 ^ -schema <= ze - 1 end
  local n = 2 ^ schema
  local octave = math.floor(i / n)
  if octave + 1 ~= ze then return octave + 1 < ze end
  return native_fraction(schema, i - octave * n) <= zf
end

local NATIVE_MAX_COUNT = 9007199254740992

local function native_float(tok)
  if not tok or not string.find(tok, '^[%d%.eE%+%-]+$') then return nil end
  local x = tonumber(tok)
  if x and x == x and x > -math.huge and x < math.huge then return x end
end

local function native_count(tok)
  if not tok or not string.find(tok, '^%d+$') then return nil end
  local x = tonumber(tok)
  if x <= NATIVE_MAX_COUNT then return x end
end

local function native_parse(s)
  local tok = {}
  for t in string.gmatch(s, '[^ ]+') do tok[#tok + 1] = t end
  if #tok < 5 then return nil, 'too few fields' end
  local h = { pos = {}, neg = {} }
  h.schema = string.find(tok[1], '^%-?%d+$') and tonumber(tok[1])
  if not h.schema or h.schema < -4 or h.schema > 8 then return nil, 'schema "' .. tok[1] .. '"' end
  h.zt = native_float(tok[2])
  if h.zt then h.zt = h.zt + 0 end
  if not h.zt or h.zt < 0 then return nil, 'zero threshold "' .. tok[2] .. '"' end
  h.zero = native_count(tok[3])
  if not h.zero then return nil, 'zero count "' .. tok[3] .. '"' end
  h.count = native_count(tok[4])
  if not h.count then return nil, 'count "' .. tok[4] .. '"' end
  h.sum = native_float(tok[5])
  if not h.sum then return nil, 'sum "' .. tok[5] .. '"' end
  local low, high = math.ceil(-1074 * 2 ^ h.schema), math.ceil(1024 * 2 ^ h.schema) + 1
  for k = 6, #tok do
    local side, index, n = string.match(tok[k], '^([pn])(%-?%d+):(%d+)$')
    if side then index, n = tonumber(index), tonumber(n) end
    if not side or index < low or index > high or n > NATIVE_MAX_COUNT then
      return nil, 'bucket "' .. tok[k] .. '"'
    end
    local b = side == 'p' and h.pos or h.neg
    b[index] = (b[index] or 0) + n
  end
  return h
end

local function native_merge(old, delta, max_buckets)
  local d, err = native_parse(delta)
  if not d then return nil, 'bad native histogram: ' .. err end
  local o
  if old then
    o, err = native_parse(old)
    if not o then return nil, 'bad native histogram: ' .. err end
  else
    o = { schema = d.schema, zt = d.zt, zero = 0, count = 0, sum = 0, pos = {}, neg = {} }
  end
  local schema = d.schema < o.schema and d.schema or o.schema
  local zt = d.zt > o.zt and d.zt or o.zt
  local zero, sum = o.zero + d.zero, o.sum + d.sum
  local count = o.count + d.count
  local zf, ze
  if zt > 0 then zf, ze = math.frexp(zt) end
  local sides, buckets = { {}, {} }, 0
  for _, h in ipairs({ o, d }) do
    local scale = 2 ^ (h.schema - schema)
    for s, from in ipairs({ h.pos, h.neg }) do
      local into = sides[s]
      for index, n in pairs(from) do
        if n > 0 then
          local i = math.ceil(index / scale) + 0
          if zf and native_inside_zero(i, schema, zf, ze) then
            zero = zero + n
          else
            if not into[i] then buckets = buckets + 1 end
            into[i] = (into[i] or 0) + n
          end
        end
      end
    end
  end
  while buckets > max_buckets and schema > -4 do
    schema, buckets = schema - 1, 0
    for s = 1, 2 do
      local merged = {}
      for index, n in pairs(sides[s]) do
        local i = math.ceil(index / 2) + 0
        if not merged[i] then buckets = buckets + 1 end
        merged[i] = (merged[i] or 0) + n
      end
      sides[s] = merged
    end
  end
  if not (sum == sum and sum > -math.huge and sum < math.huge) then
    return nil, 'bad native histogram: sum not finite'
  end
  if count > NATIVE_MAX_COUNT or zero > NATIVE_MAX_COUNT then
    return nil, 'bad native histogram: count too large'
  end
  local out = { string.format('%d %.17g %d %d %.17g', schema, zt, zero, count, sum) }
  for s, prefix in ipairs({ ' p', ' n' }) do
    local indices = {}
    for index in pairs(sides[s]) do indices[#indices + 1] = index end
    table.sort(indices)
    for _, index in ipairs(indices) do
      out[#out + 1] = string.format('%s%d:%d', prefix, index, sides[s][index])
    end
  end
  return table.concat(out)
end
`;
