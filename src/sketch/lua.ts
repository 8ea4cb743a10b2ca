// The Redis side of a sketch, as Lua to paste into the flush script: it adds one flush's bucket
// deltas to a sketch hash and keeps every side of the hash within the bucket cap, so memory is
// bounded in Redis itself, whatever every instance sends. Same rule as collapseLowest
// (collapse.ts); test/sketch/lua.test.ts runs both on the same input and compares.
//
// Defines two local functions (Redis 7.0 Lua 5.1, cluster-safe: touches only the key given):
//
//   sketch_add(key, incs, cap)
//     incs: Lua array {field, delta, field, delta, …} as SketchAccumulator.drainInto wrote it.
//     A bucket below a side's floor ("fp"/"fn", set by an earlier collapse) is counted in the
//     floor bucket, so a collapsed hash does not grow again. Then calls sketch_collapse.
//     The caller sets the key's expiry (a time slice expires by itself).
//
//   sketch_collapse(key, cap)
//     O(1) when the hash holds at most `cap` buckets (HLEN and one HMGET). Otherwise reads the
//     hash once, and for each side holding more than `cap` buckets folds the lowest ones into
//     the lowest kept bucket and records that bucket as the side's floor. A hash whose two
//     sides together exceed `cap` while each is within it is read on every call; that takes
//     signed values spread over more than 2048 buckets (≈ 18 decades at α = 1%).

export const SKETCH_LUA = `
local function sketch_collapse_side(key, side, prefix, floor_field, cap)
  local excess = #side - cap
  if excess <= 0 then return end
  table.sort(side, function(a, b) return a[1] < b[1] end)
  local keep = side[excess + 1]
  local folded = 0
  local doomed = {}
  for j = 1, excess do
    folded = folded + side[j][3]
    doomed[#doomed + 1] = side[j][2]
    if #doomed == 1000 then
      redis.call('HDEL', key, unpack(doomed))
      doomed = {}
    end
  end
  if #doomed > 0 then redis.call('HDEL', key, unpack(doomed)) end
  redis.call('HINCRBY', key, keep[2], folded)
  redis.call('HSET', key, floor_field, string.sub(keep[2], #prefix + 1))
end

local function sketch_collapse(key, cap)
  local n = redis.call('HLEN', key)
  if n <= cap then return end
  local meta = redis.call('HMGET', key, 'z', 'fp', 'fn')
  for j = 1, 3 do
    if meta[j] then n = n - 1 end
  end
  if n <= cap then return end
  local all = redis.call('HGETALL', key)
  local positive, negative = {}, {}
  for j = 1, #all, 2 do
    local field = all[j]
    local first = string.byte(field, 1)
    if first == 110 then -- 'n': negative bucket
      negative[#negative + 1] = { tonumber(string.sub(field, 2)), field, tonumber(all[j + 1]) }
    elseif first ~= 122 and first ~= 102 then -- not 'z' (zero count) nor 'f' (floors)
      positive[#positive + 1] = { tonumber(field), field, tonumber(all[j + 1]) }
    end
  end
  sketch_collapse_side(key, positive, '', 'fp', cap)
  sketch_collapse_side(key, negative, 'n', 'fn', cap)
end

local function sketch_add(key, incs, cap)
  local floors = redis.call('HMGET', key, 'fp', 'fn')
  local positive_floor, negative_floor = tonumber(floors[1]), tonumber(floors[2])
  for j = 1, #incs, 2 do
    local field = incs[j]
    local first = string.byte(field, 1)
    if first == 110 then
      if negative_floor and tonumber(string.sub(field, 2)) < negative_floor then
        field = 'n' .. floors[2]
      end
    elseif first ~= 122 then
      if positive_floor and tonumber(field) < positive_floor then field = floors[1] end
    end
    redis.call('HINCRBY', key, field, incs[j + 1])
  end
  sketch_collapse(key, cap)
end
`;
