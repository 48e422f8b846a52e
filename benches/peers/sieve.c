/* sieve: the sieve of Eratosthenes, repeated. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#define N 1000000
#define REPEAT 15

static long long count_primes(long long n) {
    bool *flags = malloc((size_t)(n + 1) * sizeof *flags);
    for (long long i = 0; i <= n; i++) flags[i] = true;
    long long count = 0;
    for (long long i = 2; i <= n; i++) {
        if (flags[i]) {
            count++;
            for (long long m = i * i; m <= n; m += i) flags[m] = false;
        }
    }
    free(flags);
    return count;
}

int main(void) {
    long long result = 0;
    for (int r = 0; r < REPEAT; r++) result = count_primes(N);
    printf("%lld\n", result);
    return 0;
}
