// The benchmark prompt, shared with bench/llama-cpp-runner.ts so both engines see the same tokens.

/** Deterministic prompt: BOS then pseudo-random ids. */
export function benchPrompt(n: number, vocab: number): number[] {
  const ids = [0];
  let x = 12345;
  while (ids.length < n) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    ids.push(2 + ((x >>> 8) % (vocab - 2)));
  }
  return ids;
}
