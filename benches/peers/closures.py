# closures: higher-order functions over arrays with captured variables.
N = 10000
SIZE = 1000


def map_(arr, f):
    out = []
    for x in arr:
        out.append(f(x))
    return out


def filter_(arr, keep):
    out = []
    for x in arr:
        if keep(x):
            out.append(x)
    return out


def reduce_(arr, f, acc):
    for x in arr:
        acc = f(acc, x)
    return acc


def main():
    data = list(range(SIZE))
    total = 0
    calls = 0
    for round_ in range(N):
        k = round_ % 7 + 1

        def counting_keep(x):
            nonlocal calls
            calls += 1
            return x % 3 != 0

        scaled = map_(data, lambda x: x * k + round_)
        kept = filter_(scaled, counting_keep)
        total += reduce_(kept, lambda acc, x: acc + x % 1000, 0)
    print(total, calls)


main()
