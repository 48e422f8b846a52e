-- sieve: the sieve of Eratosthenes, repeated.
local N = 1000000
local REPEAT = 15

local function count_primes(n)
  local flags = {}
  for i = 0, n do flags[i + 1] = true end  -- flags[i + 1] is number i
  local count = 0
  for i = 2, n do
    if flags[i + 1] then
      count = count + 1
      local m = i * i
      while m <= n do
        flags[m + 1] = false
        m = m + i
      end
    end
  end
  return count
end

local result = 0
for _ = 1, REPEAT do result = count_primes(N) end
print(string.format("%d", result))
