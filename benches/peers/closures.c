/* closures: higher-order functions over arrays; C has no closures, so each
 * "closure" is a function pointer plus a pointer to its captured variables. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#define N 10000
#define SIZE 1000

struct env { long long k, round, calls; };

struct vec { long long *items; size_t len, cap; };

static void push(struct vec *v, long long x) {
    if (v->len == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 4;
        v->items = realloc(v->items, v->cap * sizeof *v->items);
    }
    v->items[v->len++] = x;
}

static struct vec map(const struct vec *arr, long long (*f)(struct env *, long long), struct env *env) {
    struct vec out = { 0 };
    for (size_t i = 0; i < arr->len; i++) push(&out, f(env, arr->items[i]));
    return out;
}

static struct vec filter(const struct vec *arr, bool (*keep)(struct env *, long long), struct env *env) {
    struct vec out = { 0 };
    for (size_t i = 0; i < arr->len; i++)
        if (keep(env, arr->items[i])) push(&out, arr->items[i]);
    return out;
}

static long long reduce(const struct vec *arr, long long (*f)(struct env *, long long, long long),
                        struct env *env, long long acc) {
    for (size_t i = 0; i < arr->len; i++) acc = f(env, acc, arr->items[i]);
    return acc;
}

static long long scale(struct env *e, long long x) { return x * e->k + e->round; }
static bool keep(struct env *e, long long x) { e->calls++; return x % 3 != 0; }
static long long add_mod(struct env *e, long long acc, long long x) { (void)e; return acc + x % 1000; }

int main(void) {
    struct vec data = { 0 };
    for (long long i = 0; i < SIZE; i++) push(&data, i);
    long long total = 0;
    struct env env = { 0, 0, 0 };
    for (long long round = 0; round < N; round++) {
        env.k = round % 7 + 1;
        env.round = round;
        struct vec scaled = map(&data, scale, &env);
        struct vec kept = filter(&scaled, keep, &env);
        total += reduce(&kept, add_mod, &env, 0);
        free(scaled.items);
        free(kept.items);
    }
    printf("%lld %lld\n", total, env.calls);
    free(data.items);
    return 0;
}
