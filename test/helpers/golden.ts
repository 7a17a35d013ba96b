// The golden outputs of DeepSeek's official inference code for the tiny fixture checkpoints.
import { readFileSync } from 'node:fs';
import { fixturePath, readF32, readI32 } from './fixtures.js';

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

export function loadGolden(fixture: string, name = 'golden'): { golden: Golden; array: (p: number, key: string) => Float32Array; ints: (p: number, key: string) => Int32Array } {
  const golden = JSON.parse(readFileSync(fixturePath(fixture, `${name}.json`), 'utf8')) as Golden;
  return {
    golden,
    array: (p, key) => readF32(fixturePath(fixture, name, `prompt${p}.${key}.f32.bin`)),
    ints: (p, key) => readI32(fixturePath(fixture, name, `prompt${p}.${key}.i32.bin`)),
  };
}
