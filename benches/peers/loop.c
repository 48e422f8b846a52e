/* loop: nested integer loops with branches. */
#include <stdio.h>

#define N 6000

static long long run(long long n) {
    long long total = 0;
    for (long long i = 0; i < n; i++) {
        for (long long j = 0; j < n; j++) {
            long long x = i * j + j;
            if (x % 3 == 0) {
                total += x;
            } else if (x % 5 == 1) {
                total -= i;
            } else {
                total += 1;
            }
        }
    }
    return total;
}

int main(void) {
    printf("%lld\n", run(N));
    return 0;
}
