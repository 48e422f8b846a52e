# queens: count N-queens solutions by backtracking.
N = 12


def place(row, n, cols, diag1, diag2):
    if row == n:
        return 1
    count = 0
    for c in range(n):
        d1 = row + c
        d2 = row - c + n - 1
        if not cols[c] and not diag1[d1] and not diag2[d2]:
            cols[c] = diag1[d1] = diag2[d2] = True
            count += place(row + 1, n, cols, diag1, diag2)
            cols[c] = diag1[d1] = diag2[d2] = False
    return count


def queens(n):
    return place(0, n, [False] * (2 * n), [False] * (2 * n), [False] * (2 * n))


print(queens(N))
