// loop: nested integer loops with branches.
const N = 6000;

function run(n) {
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const x = i * j + j;
      if (x % 3 === 0) {
        total += x;
      } else if (x % 5 === 1) {
        total -= i;
      } else {
        total += 1;
      }
    }
  }
  return total;
}

console.log(String(run(N)));
