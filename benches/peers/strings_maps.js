// strings_maps: build words from syllables, count them in a Map.
const N = 4000000;

const SYLLABLES = ["ka", "lo", "mi", "nu", "pe", "ra", "so", "ti"];

let seed = 42;
function nextRandom() {
  seed = seed * 16807 % 2147483647;
  return seed;
}

function makeWord() {
  let r = nextRandom();
  let word = SYLLABLES[r % 8];
  const extra = Math.floor(r / 8) % 3;
  for (let i = 0; i < extra; i++) {
    r = Math.floor(r / 8);
    word += SYLLABLES[r % 8];
  }
  return word;
}

const counts = new Map();
let totalLength = 0;
for (let i = 0; i < N; i++) {
  const w = makeWord();
  totalLength += w.length;
  counts.set(w, (counts.get(w) || 0) + 1);
}

let best = "", bestCount = 0;
for (const [w, c] of counts) {
  if (c > bestCount || (c === bestCount && w < best)) {
    best = w;
    bestCount = c;
  }
}
console.log(`${counts.size} ${totalLength} ${best} ${bestCount}`);
