-- spectral_norm: the Benchmarks Game spectral norm by power iteration.
local N = 700

local function a(i, j)
  local ij = i + j
  return 1.0 / (ij * (ij + 1) / 2 + i + 1)  -- ij * (ij + 1) is even: exact
end

local function mul_av(v, out, n)
  for i = 0, n - 1 do
    local sum = 0.0
    for j = 0, n - 1 do sum = sum + a(i, j) * v[j + 1] end
    out[i + 1] = sum
  end
end

local function mul_atv(v, out, n)
  for i = 0, n - 1 do
    local sum = 0.0
    for j = 0, n - 1 do sum = sum + a(j, i) * v[j + 1] end
    out[i + 1] = sum
  end
end

local function mul_atav(v, out, tmp, n)
  mul_av(v, tmp, n)
  mul_atv(tmp, out, n)
end

local function fixed9(x)
  local sign = ""
  if x < 0.0 then sign = "-"; x = -x end
  local scaled = math.floor(x * 1e9 + 0.5)
  return string.format("%s%d.%09d", sign, math.floor(scaled / 1000000000), scaled % 1000000000)
end

local function spectral_norm(n)
  local u, v, tmp = {}, {}, {}
  for i = 1, n do u[i] = 1.0; v[i] = 0.0; tmp[i] = 0.0 end
  for _ = 1, 10 do
    mul_atav(u, v, tmp, n)
    mul_atav(v, u, tmp, n)
  end
  local vbv, vv = 0.0, 0.0
  for i = 1, n do
    vbv = vbv + u[i] * v[i]
    vv = vv + v[i] * v[i]
  end
  return math.sqrt(vbv / vv)
end

print(fixed9(spectral_norm(N)))
