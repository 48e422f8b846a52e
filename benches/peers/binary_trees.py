# binary_trees: the Benchmarks Game allocation benchmark; a node is
# [left, right] and a leaf is [None, None].
N = 15


def make(depth):
    if depth == 0:
        return [None, None]
    return [make(depth - 1), make(depth - 1)]


def check(node):
    if node[0] is None:
        return 1
    return 1 + check(node[0]) + check(node[1])


min_depth = 4
max_depth = max(N, min_depth + 2)

stretch = max_depth + 1
print("stretch tree of depth %d\t check: %d" % (stretch, check(make(stretch))))

long_lived = make(max_depth)

for depth in range(min_depth, max_depth + 1, 2):
    iterations = 1 << (max_depth - depth + min_depth)
    total = 0
    for _ in range(iterations):
        total += check(make(depth))
    print("%d\t trees of depth %d\t check: %d" % (iterations, depth, total))

print("long lived tree of depth %d\t check: %d" % (max_depth, check(long_lived)))
