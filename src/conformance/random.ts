// Deterministic pseudo-random numbers for generated test models and op inputs: the same seed gives
// the same values on every machine and in every process.

/** xorshift32 uniform values in (0, 1). */
export function uniformSource(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
}

/** Normal values (Box-Muller over xorshift32). */
export function randomValues(seed: number, n: number, std: number, mean = 0): Float32Array {
  const next = uniformSource(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = mean + std * Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
  return out;
}

/** A 32-bit seed for a named stream under a global seed (FNV-1a of both). */
export function streamSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return (Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0) || 1;
}

/** Seeded choices: one of a list, or an integer in [lo, hi]. */
export type Pick = <T>(options: readonly T[]) => T;

export function picker(seed: number): { pick: Pick; int: (lo: number, hi: number) => number } {
  const next = uniformSource(streamSeed(seed, 'picker')); // hashed: nearby seeds choose independently
  return {
    pick: <T>(options: readonly T[]): T => options[Math.floor(next() * options.length)]!,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
  };
}
