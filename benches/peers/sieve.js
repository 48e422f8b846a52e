// sieve: the sieve of Eratosthenes, repeated (a plain growable array, like Toy's).
const N = 1000000;
const REPEAT = 15;

function countPrimes(n) {
  const flags = [];
  for (let i = 0; i <= n; i++) flags.push(true);
  let count = 0;
  for (let i = 2; i <= n; i++) {
    if (flags[i]) {
      count++;
      for (let m = i * i; m <= n; m += i) flags[m] = false;
    }
  }
  return count;
}

let result = 0;
for (let r = 0; r < REPEAT; r++) result = countPrimes(N);
console.log(String(result));
