# sieve: the sieve of Eratosthenes, repeated.
N = 1000000
REPEAT = 15


def count_primes(n):
    flags = [True] * (n + 1)
    count = 0
    for i in range(2, n + 1):
        if flags[i]:
            count += 1
            m = i * i
            while m <= n:
                flags[m] = False
                m += i
    return count


result = 0
for _ in range(REPEAT):
    result = count_primes(N)
print(result)
