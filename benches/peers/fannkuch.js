// fannkuch: the Benchmarks Game fannkuch-redux.
const N = 9;
const REPEAT = 4;

function fannkuch(n) {
  const perm = [], perm1 = [], count = [];
  for (let i = 0; i < n; i++) { perm.push(0); perm1.push(i); count.push(0); }
  let maxFlips = 0, checksum = 0, sign = 1;
  let r = n;
  for (;;) {
    while (r !== 1) { count[r - 1] = r; r--; }
    for (let i = 0; i < n; i++) perm[i] = perm1[i];
    let flips = 0;
    let k = perm[0];
    while (k !== 0) {
      let lo = 0, hi = k;
      while (lo < hi) {
        const t = perm[lo]; perm[lo] = perm[hi]; perm[hi] = t;
        lo++; hi--;
      }
      flips++;
      k = perm[0];
    }
    if (flips > maxFlips) maxFlips = flips;
    checksum += sign * flips;
    sign = -sign;
    for (;;) {
      if (r === n) return [checksum, maxFlips];
      const first = perm1[0];
      for (let i = 0; i < r; i++) perm1[i] = perm1[i + 1];
      perm1[r] = first;
      count[r]--;
      if (count[r] > 0) break;
      r++;
    }
  }
}

let result;
for (let i = 0; i < REPEAT; i++) result = fannkuch(N);
console.log(String(result[0]));
console.log(`Pfannkuchen(${N}) = ${result[1]}`);
