// binary_trees: the Benchmarks Game allocation benchmark; a node is
// [left, right] and a leaf is [null, null].
const N = 15;

function make(depth) {
  if (depth === 0) return [null, null];
  return [make(depth - 1), make(depth - 1)];
}

function check(node) {
  if (node[0] === null) return 1;
  return 1 + check(node[0]) + check(node[1]);
}

const minDepth = 4;
const maxDepth = Math.max(N, minDepth + 2);

const stretch = maxDepth + 1;
console.log(`stretch tree of depth ${stretch}\t check: ${check(make(stretch))}`);

const longLived = make(maxDepth);

for (let depth = minDepth; depth <= maxDepth; depth += 2) {
  const iterations = 2 ** (maxDepth - depth + minDepth);
  let total = 0;
  for (let i = 0; i < iterations; i++) total += check(make(depth));
  console.log(`${iterations}\t trees of depth ${depth}\t check: ${total}`);
}

console.log(`long lived tree of depth ${maxDepth}\t check: ${check(longLived)}`);
