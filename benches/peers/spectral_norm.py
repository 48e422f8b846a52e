# spectral_norm: the Benchmarks Game spectral norm by power iteration.
import math

N = 700


def a(i, j):
    ij = i + j
    return 1.0 / (ij * (ij + 1) // 2 + i + 1)


def mul_av(v, out, n):
    for i in range(n):
        total = 0.0
        for j in range(n):
            total += a(i, j) * v[j]
        out[i] = total


def mul_atv(v, out, n):
    for i in range(n):
        total = 0.0
        for j in range(n):
            total += a(j, i) * v[j]
        out[i] = total


def mul_atav(v, out, tmp, n):
    mul_av(v, tmp, n)
    mul_atv(tmp, out, n)


def fixed9(x):
    """x with 9 decimals, rounding half away from zero (the same helper as in Toy)."""
    sign = ""
    if x < 0.0:
        sign, x = "-", -x
    scaled = math.floor(x * 1e9 + 0.5)
    return "%s%d.%09d" % (sign, scaled // 1000000000, scaled % 1000000000)


def spectral_norm(n):
    u = [1.0] * n
    v = [0.0] * n
    tmp = [0.0] * n
    for _ in range(10):
        mul_atav(u, v, tmp, n)
        mul_atav(v, u, tmp, n)
    vbv = vv = 0.0
    for i in range(n):
        vbv += u[i] * v[i]
        vv += v[i] * v[i]
    return math.sqrt(vbv / vv)


print(fixed9(spectral_norm(N)))
