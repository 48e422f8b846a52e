// mandelbrot: the Benchmarks Game Mandelbrot set, with a bitmap checksum.
const N = 1000;
const ITER = 50;

function mandelbrot(n) {
  let inside = 0, hash = 0;
  for (let y = 0; y < n; y++) {
    const ci = 2.0 * y / n - 1.0;
    for (let x = 0; x < n; x++) {
      const cr = 2.0 * x / n - 1.5;
      let zr = 0.0, zi = 0.0, tr = 0.0, ti = 0.0;
      let i = 0;
      while (i < ITER && tr + ti <= 4.0) {
        zi = 2.0 * zr * zi + ci;
        zr = tr - ti + cr;
        tr = zr * zr;
        ti = zi * zi;
        i++;
      }
      let bit = 0;
      if (tr + ti <= 4.0) {
        bit = 1;
        inside++;
      }
      hash = (hash * 31 + bit) % 1000000007;
    }
  }
  return [inside, hash];
}

const [inside, hash] = mandelbrot(N);
console.log(`${inside} ${hash}`);
