# mandelbrot: the Benchmarks Game Mandelbrot set, with a bitmap checksum.
N = 1000
ITER = 50


def mandelbrot(n):
    inside = 0
    hash = 0
    for y in range(n):
        ci = 2.0 * y / n - 1.0
        for x in range(n):
            cr = 2.0 * x / n - 1.5
            zr = zi = tr = ti = 0.0
            i = 0
            while i < ITER and tr + ti <= 4.0:
                zi = 2.0 * zr * zi + ci
                zr = tr - ti + cr
                tr = zr * zr
                ti = zi * zi
                i += 1
            bit = 0
            if tr + ti <= 4.0:
                bit = 1
                inside += 1
            hash = (hash * 31 + bit) % 1000000007
    return inside, hash


inside, hash = mandelbrot(N)
print(inside, hash)
