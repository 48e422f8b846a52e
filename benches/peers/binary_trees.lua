-- binary_trees: the Benchmarks Game allocation benchmark; a node is
-- {left, right} and a leaf is {} (Lua cannot store nil in an array).
local N = 15

local function make(depth)
  if depth == 0 then return {} end
  return { make(depth - 1), make(depth - 1) }
end

local function check(node)
  if node[1] == nil then return 1 end
  return 1 + check(node[1]) + check(node[2])
end

local min_depth = 4
local max_depth = N
if max_depth < min_depth + 2 then max_depth = min_depth + 2 end

local stretch = max_depth + 1
print(string.format("stretch tree of depth %d\t check: %d", stretch, check(make(stretch))))

local long_lived = make(max_depth)

for depth = min_depth, max_depth, 2 do
  local iterations = 1
  for _ = 1, max_depth - depth + min_depth do iterations = iterations * 2 end
  local total = 0
  for _ = 1, iterations do total = total + check(make(depth)) end
  print(string.format("%d\t trees of depth %d\t check: %d", iterations, depth, total))
end

print(string.format("long lived tree of depth %d\t check: %d", max_depth, check(long_lived)))
