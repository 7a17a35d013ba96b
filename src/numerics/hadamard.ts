// Walsh–Hadamard rotation applied to the DSA indexer's queries and keys before FP8 quantization:
// y = x · H_n · n^-0.5 with H Sylvester-ordered (H_2n = [[H, H], [H, -H]]).

/** In place on each contiguous row of length n (a power of two); float64 butterflies, float32 result. */
export function hadamardRows(x: Float32Array, n: number): void {
  if (n & (n - 1)) throw new Error(`Hadamard size must be a power of two, got ${n}`);
  const scale = 1 / Math.sqrt(n);
  const row = new Float64Array(n);
  for (let off = 0; off < x.length; off += n) {
    for (let i = 0; i < n; i++) row[i] = x[off + i]!;
    for (let h = 1; h < n; h *= 2) {
      for (let i = 0; i < n; i += 2 * h) {
        for (let j = i; j < i + h; j++) {
          const a = row[j]!;
          const b = row[j + h]!;
          row[j] = a + b;
          row[j + h] = a - b;
        }
      }
    }
    for (let i = 0; i < n; i++) x[off + i] = row[i]! * scale;
  }
}
