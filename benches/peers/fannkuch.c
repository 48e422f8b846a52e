/* fannkuch: the Benchmarks Game fannkuch-redux. */
#include <stdio.h>

#define N 9
#define REPEAT 4

static void fannkuch(int n, long long *checksum_out, int *max_flips_out) {
    int perm[32], perm1[32], count[32];
    for (int i = 0; i < n; i++) { perm[i] = 0; perm1[i] = i; count[i] = 0; }
    int max_flips = 0, sign = 1;
    long long checksum = 0;
    int r = n;
    for (;;) {
        while (r != 1) { count[r - 1] = r; r--; }
        for (int i = 0; i < n; i++) perm[i] = perm1[i];
        int flips = 0;
        int k = perm[0];
        while (k != 0) {
            for (int lo = 0, hi = k; lo < hi; lo++, hi--) {
                int t = perm[lo]; perm[lo] = perm[hi]; perm[hi] = t;
            }
            flips++;
            k = perm[0];
        }
        if (flips > max_flips) max_flips = flips;
        checksum += sign * flips;
        sign = -sign;
        for (;;) {
            if (r == n) {
                *checksum_out = checksum;
                *max_flips_out = max_flips;
                return;
            }
            int first = perm1[0];
            for (int i = 0; i < r; i++) perm1[i] = perm1[i + 1];
            perm1[r] = first;
            count[r]--;
            if (count[r] > 0) break;
            r++;
        }
    }
}

int main(void) {
    long long checksum = 0;
    int max_flips = 0;
    for (int i = 0; i < REPEAT; i++) fannkuch(N, &checksum, &max_flips);
    printf("%lld\nPfannkuchen(%d) = %d\n", checksum, N, max_flips);
    return 0;
}
