// spectral_norm: the Benchmarks Game spectral norm by power iteration.
const N = 700;

function a(i, j) {
  const ij = i + j;
  return 1.0 / (ij * (ij + 1) / 2 + i + 1);  // ij * (ij + 1) is even: exact
}

function mulAv(v, out, n) {
  for (let i = 0; i < n; i++) {
    let sum = 0.0;
    for (let j = 0; j < n; j++) sum += a(i, j) * v[j];
    out[i] = sum;
  }
}

function mulAtv(v, out, n) {
  for (let i = 0; i < n; i++) {
    let sum = 0.0;
    for (let j = 0; j < n; j++) sum += a(j, i) * v[j];
    out[i] = sum;
  }
}

function mulAtAv(v, out, tmp, n) {
  mulAv(v, tmp, n);
  mulAtv(tmp, out, n);
}

// x with 9 decimals, rounding half away from zero (the same helper as in Toy).
function fixed9(x) {
  let sign = "";
  if (x < 0.0) { sign = "-"; x = -x; }
  const scaled = Math.floor(x * 1e9 + 0.5);
  const frac = String(scaled % 1000000000).padStart(9, "0");
  return sign + String(Math.floor(scaled / 1000000000)) + "." + frac;
}

function spectralNorm(n) {
  const u = [], v = [], tmp = [];
  for (let i = 0; i < n; i++) { u.push(1.0); v.push(0.0); tmp.push(0.0); }
  for (let i = 0; i < 10; i++) {
    mulAtAv(u, v, tmp, n);
    mulAtAv(v, u, tmp, n);
  }
  let vbv = 0.0, vv = 0.0;
  for (let i = 0; i < n; i++) {
    vbv += u[i] * v[i];
    vv += v[i] * v[i];
  }
  return Math.sqrt(vbv / vv);
}

console.log(fixed9(spectralNorm(N)));
