/* queens: count N-queens solutions by backtracking. */
#include <stdbool.h>
#include <stdio.h>

#define N 12

static long long place(int row, int n, bool *cols, bool *diag1, bool *diag2) {
    if (row == n) return 1;
    long long count = 0;
    for (int c = 0; c < n; c++) {
        int d1 = row + c;
        int d2 = row - c + n - 1;
        if (!cols[c] && !diag1[d1] && !diag2[d2]) {
            cols[c] = diag1[d1] = diag2[d2] = true;
            count += place(row + 1, n, cols, diag1, diag2);
            cols[c] = diag1[d1] = diag2[d2] = false;
        }
    }
    return count;
}

int main(void) {
    bool cols[2 * N] = { false }, diag1[2 * N] = { false }, diag2[2 * N] = { false };
    printf("%lld\n", place(0, N, cols, diag1, diag2));
    return 0;
}
