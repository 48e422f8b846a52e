/* strings_maps: build words from syllables, count them in a hash table
 * (open addressing, FNV-1a hashes, heap-allocated keys like the other peers). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 4000000
#define CAPACITY 4096 /* a power of two above the 584 possible words */

static const char *SYLLABLES[8] = { "ka", "lo", "mi", "nu", "pe", "ra", "so", "ti" };

struct entry { char *key; long long count; };
static struct entry table[CAPACITY];
static long long distinct = 0;

static long long seed = 42;
static long long next_random(void) {
    seed = seed * 16807 % 2147483647;
    return seed;
}

/* Returns a freshly allocated word, as a dynamic language would. */
static char *make_word(void) {
    long long r = next_random();
    char buf[16];
    strcpy(buf, SYLLABLES[r % 8]);
    long long extra = r / 8 % 3;
    for (long long i = 0; i < extra; i++) {
        r = r / 8;
        strcat(buf, SYLLABLES[r % 8]);
    }
    return strdup(buf);
}

static unsigned long long hash(const char *s) {
    unsigned long long h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void count_word(char *w) {
    size_t i = hash(w) & (CAPACITY - 1);
    while (table[i].key != NULL && strcmp(table[i].key, w) != 0) i = (i + 1) & (CAPACITY - 1);
    if (table[i].key == NULL) {
        table[i].key = w;
        table[i].count = 1;
        distinct++;
    } else {
        table[i].count++;
        free(w);
    }
}

int main(void) {
    long long total_length = 0;
    for (long long i = 0; i < N; i++) {
        char *w = make_word();
        total_length += (long long)strlen(w);
        count_word(w);
    }
    const char *best = "";
    long long best_count = 0;
    for (size_t i = 0; i < CAPACITY; i++) {
        struct entry *e = &table[i];
        if (e->key == NULL) continue;
        if (e->count > best_count || (e->count == best_count && strcmp(e->key, best) < 0)) {
            best = e->key;
            best_count = e->count;
        }
    }
    printf("%lld %lld %s %lld\n", distinct, total_length, best, best_count);
    return 0;
}
