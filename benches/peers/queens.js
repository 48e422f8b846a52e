// queens: count N-queens solutions by backtracking.
const N = 12;

function place(row, n, cols, diag1, diag2) {
  if (row === n) return 1;
  let count = 0;
  for (let c = 0; c < n; c++) {
    const d1 = row + c;
    const d2 = row - c + n - 1;
    if (!cols[c] && !diag1[d1] && !diag2[d2]) {
      cols[c] = diag1[d1] = diag2[d2] = true;
      count += place(row + 1, n, cols, diag1, diag2);
      cols[c] = diag1[d1] = diag2[d2] = false;
    }
  }
  return count;
}

function queens(n) {
  const cols = [], diag1 = [], diag2 = [];
  for (let i = 0; i < 2 * n; i++) { cols.push(false); diag1.push(false); diag2.push(false); }
  return place(0, n, cols, diag1, diag2);
}

console.log(String(queens(N)));
