// closures: higher-order functions over arrays with captured variables.
const N = 10000;
const SIZE = 1000;

function map(arr, f) {
  const out = [];
  for (const x of arr) out.push(f(x));
  return out;
}

function filter(arr, keep) {
  const out = [];
  for (const x of arr) if (keep(x)) out.push(x);
  return out;
}

function reduce(arr, f, acc) {
  for (const x of arr) acc = f(acc, x);
  return acc;
}

const data = [];
for (let i = 0; i < SIZE; i++) data.push(i);

let total = 0;
let calls = 0;
for (let round = 0; round < N; round++) {
  const k = round % 7 + 1;
  const scaled = map(data, (x) => x * k + round);
  const kept = filter(scaled, (x) => {
    calls++;
    return x % 3 !== 0;
  });
  total += reduce(kept, (acc, x) => acc + x % 1000, 0);
}
console.log(`${total} ${calls}`);
