-- closures: higher-order functions over arrays with captured variables.
local N = 10000
local SIZE = 1000

local function map(arr, f)
  local out = {}
  for i = 1, #arr do out[#out + 1] = f(arr[i]) end
  return out
end

local function filter(arr, keep)
  local out = {}
  for i = 1, #arr do
    local x = arr[i]
    if keep(x) then out[#out + 1] = x end
  end
  return out
end

local function reduce(arr, f, acc)
  for i = 1, #arr do acc = f(acc, arr[i]) end
  return acc
end

local data = {}
for i = 0, SIZE - 1 do data[#data + 1] = i end

local total = 0
local calls = 0
for round = 0, N - 1 do
  local k = round % 7 + 1
  local scaled = map(data, function(x) return x * k + round end)
  local kept = filter(scaled, function(x)
    calls = calls + 1
    return x % 3 ~= 0
  end)
  total = total + reduce(kept, function(acc, x) return acc + x % 1000 end, 0)
end
print(string.format("%d %d", total, calls))
