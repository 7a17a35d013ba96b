// Random checkpoints of any registered architecture, written as Hugging Face directories. The
// tensors are the ones the architecture itself binds (its manifest), initialised so that the
// network is well conditioned: every projection keeps the scale of its input and every residual
// branch adds a fraction of the stream. Then a value that two backends round to neighbouring
// e4m3 codes (a rounding-boundary flip, unavoidable between float32 and float64 arithmetic) moves
// the logits by ~1e-3, not by whole units as in a chaotic random network, and end-to-end logits
// can be compared with a tolerance that still catches real bugs.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { f32ToBf16 } from '../formats/dtype.js';
import { writeSafetensors } from '../formats/safetensors-writer.js';
import type { TensorToWrite } from '../formats/safetensors-writer.js';
import { E4M3_MAX, encodeE4M3, roundE4M3 } from '../numerics/fp8.js';
import { modelManifest } from '../models/registry.js';
import type { ManifestEntry } from '../models/weight-binder.js';
import { randomValues, streamSeed } from './random.js';

export type CheckpointDType = 'F32' | 'BF16' | 'FP8';

export interface RandomCheckpointOptions {
  readonly seed: number;
  /** 'FP8': linear and output projections block-scaled e4m3 (the config needs a quantization_config), the rest BF16. */
  readonly dtype: CheckpointDType;
}

const FP8_BLOCK = 128;

/** Mean and standard deviation of a tensor's values by the role it plays. */
function init(e: ManifestEntry, layers: number, tied: boolean): { mean: number; std: number } {
  const fanIn = e.shape.length === 2 ? e.shape[1]! : 1;
  switch (e.role) {
    case 'embedding':
      // a tied embedding is also the output projection: logits of std ~2, not ~sqrt(hidden)
      return { mean: 0, std: tied ? 2 * fanIn ** -0.5 : 1 };
    case 'norm':
      return { mean: 1, std: 0.05 };
    case 'bias':
      return { mean: 0, std: 0.05 };
    case 'router-bias':
      return { mean: 0, std: 0.02 };
    case 'linear':
    case 'dense':
    case 'lm-head':
      return { mean: 0, std: fanIn ** -0.5 };
    case 'out':
      return { mean: 0, std: fanIn ** -0.5 / Math.sqrt(2 * layers) };
  }
}

function bf16Bytes(values: Float32Array): Uint8Array {
  return new Uint8Array(Uint16Array.from(values, f32ToBf16).buffer);
}

/** e4m3 codes with one float32 multiplier per 128x128 block (weight_scale_inv = amax / 448). */
function fp8Tensors(name: string, shape: readonly number[], v: Float32Array): TensorToWrite[] {
  const [rows, cols] = shape as [number, number];
  const sr = Math.ceil(rows / FP8_BLOCK);
  const sc = Math.ceil(cols / FP8_BLOCK);
  const scales = new Float32Array(sr * sc);
  for (let i = 0; i < v.length; i++) {
    const b = Math.floor(Math.floor(i / cols) / FP8_BLOCK) * sc + Math.floor((i % cols) / FP8_BLOCK);
    scales[b] = Math.max(scales[b]!, Math.abs(v[i]!));
  }
  for (let b = 0; b < scales.length; b++) scales[b] = Math.fround(scales[b]! / E4M3_MAX) || 1;
  const codes = Uint8Array.from(v, (x, i) => encodeE4M3(roundE4M3(x / scales[Math.floor(Math.floor(i / cols) / FP8_BLOCK) * sc + Math.floor((i % cols) / FP8_BLOCK)]!)));
  return [
    { name, dtype: 'F8_E4M3', shape: [...shape], data: codes },
    { name: `${name}_scale_inv`, dtype: 'F32', shape: [sr, sc], data: new Uint8Array(scales.buffer) },
  ];
}

/** The tensors of a checkpoint for `config`, values seeded by (seed, tensor name). */
export function randomTensors(config: Record<string, unknown>, options: RandomCheckpointOptions): TensorToWrite[] {
  const manifest = modelManifest('config.json', config);
  const layers = typeof config['num_hidden_layers'] === 'number' ? config['num_hidden_layers'] : 1;
  const tied = config['tie_word_embeddings'] === true;
  const out: TensorToWrite[] = [];
  for (const e of manifest) {
    const { mean, std } = init(e, layers, tied);
    const n = e.shape.reduce((a, b) => a * b, 1);
    const v = randomValues(streamSeed(options.seed, e.name), n, std, mean);
    const quantized = options.dtype === 'FP8' && (e.role === 'linear' || e.role === 'out');
    if (quantized) out.push(...fp8Tensors(e.name, e.shape, v));
    else if (e.role === 'router-bias' || options.dtype === 'F32') out.push({ name: e.name, dtype: 'F32', shape: [...e.shape], data: new Uint8Array(v.buffer) });
    else out.push({ name: e.name, dtype: 'BF16', shape: [...e.shape], data: bf16Bytes(v) });
  }
  return out;
}

/** Writes config.json and model.safetensors into `dir`; returns `dir`. */
export function writeRandomCheckpoint(dir: string, config: Record<string, unknown>, options: RandomCheckpointOptions): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  writeSafetensors(join(dir, 'model.safetensors'), randomTensors(config, options));
  return dir;
}
