// The golden outputs of DeepSeek's official inference code for the tiny fixture checkpoints
// (test/fixtures/deepseek, shipped with the package): logits, hidden states, indexer top-k sets
// and expert choices, as raw little-endian arrays next to a JSON description.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** test/fixtures/deepseek at the package root (this file compiles to dist/src/conformance/). */
export const GOLDEN_ROOT = fileURLToPath(new URL('../../../test/fixtures/deepseek/', import.meta.url));

export interface Golden {
  fixture: string;
  semantics: string;
  prompt_tokens: number[][];
  greedy_tokens: number[][];
  decode_steps: number;
  indexer_topk_last_prompt_position: number[][][];
  indexer_topk_decode: number[][][][];
  moe_layers: number[];
  routing_decode: number[][][][];
  diagnostics: Array<{ argmax_margins: number[] }>;
  stability: {
    threshold_abs: number;
    unstable_prefill_rows: number[][];
    unstable_decode_steps: number[][];
  };
}

export function readF32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function readI32(path: string): Int32Array {
  const b = readFileSync(path);
  return new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export interface LoadedGolden {
  readonly golden: Golden;
  /** the checkpoint directory the golden was computed on */
  readonly modelDir: string;
  array(p: number, key: string): Float32Array;
  ints(p: number, key: string): Int32Array;
}

export function loadGolden(fixture: string, name = 'golden', root = GOLDEN_ROOT): LoadedGolden {
  const dir = join(root, fixture);
  const golden = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as Golden;
  return {
    golden,
    modelDir: dir,
    array: (p, key) => readF32(join(dir, name, `prompt${p}.${key}.f32.bin`)),
    ints: (p, key) => readI32(join(dir, name, `prompt${p}.${key}.i32.bin`)),
  };
}
