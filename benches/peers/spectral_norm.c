/* spectral_norm: the Benchmarks Game spectral norm by power iteration. */
#include <math.h>
#include <stdio.h>

#define N 700

static double a(long long i, long long j) {
    long long ij = i + j;
    return 1.0 / (ij * (ij + 1) / 2 + i + 1);
}

static void mul_av(const double *v, double *out, int n) {
    for (int i = 0; i < n; i++) {
        double sum = 0.0;
        for (int j = 0; j < n; j++) sum += a(i, j) * v[j];
        out[i] = sum;
    }
}

static void mul_atv(const double *v, double *out, int n) {
    for (int i = 0; i < n; i++) {
        double sum = 0.0;
        for (int j = 0; j < n; j++) sum += a(j, i) * v[j];
        out[i] = sum;
    }
}

static void mul_atav(const double *v, double *out, double *tmp, int n) {
    mul_av(v, tmp, n);
    mul_atv(tmp, out, n);
}

/* x with 9 decimals, rounding half away from zero (the same helper as in Toy). */
static void print_fixed9(double x) {
    const char *sign = "";
    if (x < 0.0) { sign = "-"; x = -x; }
    long long scaled = (long long)floor(x * 1e9 + 0.5);
    printf("%s%lld.%09lld\n", sign, scaled / 1000000000, scaled % 1000000000);
}

int main(void) {
    static double u[N], v[N], tmp[N];
    for (int i = 0; i < N; i++) { u[i] = 1.0; v[i] = 0.0; tmp[i] = 0.0; }
    for (int i = 0; i < 10; i++) {
        mul_atav(u, v, tmp, N);
        mul_atav(v, u, tmp, N);
    }
    double vbv = 0.0, vv = 0.0;
    for (int i = 0; i < N; i++) {
        vbv += u[i] * v[i];
        vv += v[i] * v[i];
    }
    print_fixed9(sqrt(vbv / vv));
    return 0;
}
