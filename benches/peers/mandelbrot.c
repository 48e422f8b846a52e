/* mandelbrot: the Benchmarks Game Mandelbrot set, with a bitmap checksum. */
#include <stdio.h>

#define N 1000
#define ITER 50

int main(void) {
    long long inside = 0, hash = 0;
    for (int y = 0; y < N; y++) {
        double ci = 2.0 * y / N - 1.0;
        for (int x = 0; x < N; x++) {
            double cr = 2.0 * x / N - 1.5;
            double zr = 0.0, zi = 0.0, tr = 0.0, ti = 0.0;
            int i = 0;
            while (i < ITER && tr + ti <= 4.0) {
                zi = 2.0 * zr * zi + ci;
                zr = tr - ti + cr;
                tr = zr * zr;
                ti = zi * zi;
                i++;
            }
            int bit = 0;
            if (tr + ti <= 4.0) {
                bit = 1;
                inside++;
            }
            hash = (hash * 31 + bit) % 1000000007;
        }
    }
    printf("%lld %lld\n", inside, hash);
    return 0;
}
