-- loop: nested integer loops with branches.
local N = 6000

local function run(n)
  local total = 0
  for i = 0, n - 1 do
    for j = 0, n - 1 do
      local x = i * j + j
      if x % 3 == 0 then
        total = total + x
      elseif x % 5 == 1 then
        total = total - i
      else
        total = total + 1
      end
    end
  end
  return total
end

print(string.format("%d", run(N)))
