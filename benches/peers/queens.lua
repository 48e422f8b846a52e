-- queens: count N-queens solutions by backtracking.
local N = 12

local function place(row, n, cols, diag1, diag2)
  if row == n then return 1 end
  local count = 0
  for c = 0, n - 1 do
    local d1 = row + c
    local d2 = row - c + n - 1
    if not cols[c + 1] and not diag1[d1 + 1] and not diag2[d2 + 1] then
      cols[c + 1], diag1[d1 + 1], diag2[d2 + 1] = true, true, true
      count = count + place(row + 1, n, cols, diag1, diag2)
      cols[c + 1], diag1[d1 + 1], diag2[d2 + 1] = false, false, false
    end
  end
  return count
end

local function queens(n)
  local cols, diag1, diag2 = {}, {}, {}
  for i = 1, 2 * n do cols[i] = false; diag1[i] = false; diag2[i] = false end
  return place(0, n, cols, diag1, diag2)
end

print(string.format("%d", queens(N)))
