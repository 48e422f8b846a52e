-- mandelbrot: the Benchmarks Game Mandelbrot set, with a bitmap checksum.
local N = 1000
local ITER = 50

local function mandelbrot(n)
  local inside, hash = 0, 0
  for y = 0, n - 1 do
    local ci = 2.0 * y / n - 1.0
    for x = 0, n - 1 do
      local cr = 2.0 * x / n - 1.5
      local zr, zi, tr, ti = 0.0, 0.0, 0.0, 0.0
      local i = 0
      while i < ITER and tr + ti <= 4.0 do
        zi = 2.0 * zr * zi + ci
        zr = tr - ti + cr
        tr = zr * zr
        ti = zi * zi
        i = i + 1
      end
      local bit = 0
      if tr + ti <= 4.0 then
        bit = 1
        inside = inside + 1
      end
      hash = (hash * 31 + bit) % 1000000007
    end
  end
  return inside, hash
end

local inside, hash = mandelbrot(N)
print(string.format("%d %d", inside, hash))
