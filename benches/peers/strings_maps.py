# strings_maps: build words from syllables, count them in a dict.
N = 4000000

SYLLABLES = ["ka", "lo", "mi", "nu", "pe", "ra", "so", "ti"]

seed = 42


def next_random():
    global seed
    seed = seed * 16807 % 2147483647
    return seed


def make_word():
    r = next_random()
    word = SYLLABLES[r % 8]
    extra = r // 8 % 3
    for _ in range(extra):
        r = r // 8
        word += SYLLABLES[r % 8]
    return word


counts = {}
total_length = 0
for _ in range(N):
    w = make_word()
    total_length += len(w)
    if w in counts:
        counts[w] += 1
    else:
        counts[w] = 1

best, best_count = "", 0
for w, c in counts.items():
    if c > best_count or (c == best_count and w < best):
        best, best_count = w, c
print(len(counts), total_length, best, best_count)
