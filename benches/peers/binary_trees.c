/* binary_trees: the Benchmarks Game allocation benchmark with malloc/free. */
#include <stdio.h>
#include <stdlib.h>

#define N 15

struct node { struct node *left, *right; };

static struct node *make(int depth) {
    struct node *n = malloc(sizeof *n);
    if (depth == 0) {
        n->left = n->right = NULL;
    } else {
        n->left = make(depth - 1);
        n->right = make(depth - 1);
    }
    return n;
}

static long long check(const struct node *n) {
    if (n->left == NULL) return 1;
    return 1 + check(n->left) + check(n->right);
}

static void release(struct node *n) {
    if (n->left != NULL) {
        release(n->left);
        release(n->right);
    }
    free(n);
}

int main(void) {
    int min_depth = 4;
    int max_depth = N < min_depth + 2 ? min_depth + 2 : N;

    int stretch = max_depth + 1;
    struct node *t = make(stretch);
    printf("stretch tree of depth %d\t check: %lld\n", stretch, check(t));
    release(t);

    struct node *long_lived = make(max_depth);

    for (int depth = min_depth; depth <= max_depth; depth += 2) {
        long long iterations = 1LL << (max_depth - depth + min_depth);
        long long total = 0;
        for (long long i = 0; i < iterations; i++) {
            t = make(depth);
            total += check(t);
            release(t);
        }
        printf("%lld\t trees of depth %d\t check: %lld\n", iterations, depth, total);
    }

    printf("long lived tree of depth %d\t check: %lld\n", max_depth, check(long_lived));
    release(long_lived);
    return 0;
}
