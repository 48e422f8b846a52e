-- strings_maps: build words from syllables, count them in a table.
local N = 4000000

local SYLLABLES = { "ka", "lo", "mi", "nu", "pe", "ra", "so", "ti" }
local floor = math.floor

local seed = 42
local function next_random()
  seed = seed * 16807 % 2147483647
  return seed
end

local function make_word()
  local r = next_random()
  local word = SYLLABLES[r % 8 + 1]
  local extra = floor(r / 8) % 3
  for _ = 1, extra do
    r = floor(r / 8)
    word = word .. SYLLABLES[r % 8 + 1]
  end
  return word
end

local counts = {}
local distinct = 0
local total_length = 0
for _ = 1, N do
  local w = make_word()
  total_length = total_length + #w
  local c = counts[w]
  if c then
    counts[w] = c + 1
  else
    counts[w] = 1
    distinct = distinct + 1
  end
end

local best, best_count = "", 0
for w, c in pairs(counts) do
  if c > best_count or (c == best_count and w < best) then
    best, best_count = w, c
  end
end
print(string.format("%d %d %s %d", distinct, total_length, best, best_count))
