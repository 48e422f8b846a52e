# loop: nested integer loops with branches.
N = 6000


def run(n):
    total = 0
    for i in range(n):
        for j in range(n):
            x = i * j + j
            if x % 3 == 0:
                total += x
            elif x % 5 == 1:
                total -= i
            else:
                total += 1
    return total


print(run(N))
