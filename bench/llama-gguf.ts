// A Hugging Face Llama / Qwen2 / Qwen3 checkpoint as the GGUF file llama.cpp's convert_hf_to_gguf.py
// writes (conversion/llama.py, conversion/qwen.py, conversion/base.py of the llama.cpp release
// bundled with node-llama-cpp 3.21.1), so that llama.cpp can run the very weights Tessera runs:
//
// * tensor names: token_embd, blk.N.{attn_norm, attn_q, attn_k, attn_v (+ .bias), attn_q_norm,
//   attn_k_norm (Qwen3), attn_output (+ .bias, Llama), ffn_norm, ffn_gate, ffn_up, ffn_down
//   (+ .bias, Llama)}, output_norm, output — left out with tied embeddings, where llama.cpp reuses
//   token_embd; rope_freqs for Llama 3 RoPE scaling;
// * `llama` only: the q / k rows (and biases) permuted per head for llama.cpp's adjacent-pair RoPE
//   (Qwen is half-split in both worlds and is not permuted);
// * types: 1-D tensors and norm gains F32, the rest in the requested type or mix (gguf-quant.ts);
// * metadata as llama-gguf-metadata.ts describes.
//
// Tensors are read, converted and written one at a time. Shapes are row-major (the writer reverses
// them into ggml's `ne`).
import { basename, resolve } from 'node:path';
import { decodeToF32 } from '../src/formats/dtype.js';
import type { TensorDType } from '../src/formats/dtype.js';
import { ModelFormatError } from '../src/formats/errors.js';
import { writeGguf } from '../src/formats/gguf-writer.js';
import type { GgufTensorSpec } from '../src/formats/gguf-writer.js';
import { openHfDirectory } from '../src/formats/hf-directory.js';
import type { HfDirectory } from '../src/formats/hf-directory.js';
import { parseLlamaConfig } from '../src/models/llama-config.js';
import type { Llama3Scaling, LlamaConfig } from '../src/models/llama-config.js';
import { ropeFrequencies } from '../src/numerics/rope.js';
import { encodeGgufTensor, ggufTensorType } from './gguf-quant.js';
import type { GgufOutType, GgufTensorType } from './gguf-quant.js';
import { llamaFamilyMetadata } from './llama-gguf-metadata.js';

export interface LlamaFamilyGgufOptions {
  /** Type of the matrices (llama.cpp's `--outtype`, a `llama-quantize --pure` type, or Q4_K_M); 1-D tensors and norms are F32 regardless. */
  readonly dtype: GgufOutType;
}

interface PlannedTensor extends GgufTensorSpec {
  readonly type: GgufTensorType;
  /** The tensor's values in GGUF layout, computed when the writer reaches it. */
  readonly values: () => Float32Array;
}

const SOURCE_DTYPES: readonly TensorDType[] = ['F32', 'F16', 'BF16'];

export async function writeLlamaFamilyGguf(hfDir: string, ggufPath: string, options: LlamaFamilyGgufOptions): Promise<void> {
  const hf = openHfDirectory(hfDir);
  try {
    const c = parseLlamaConfig(hf.configPath, hf.config);
    const tensors = planTensors(c, hf, options.dtype);
    await writeGguf(ggufPath, {
      metadata: llamaFamilyMetadata(c, hf.config, basename(resolve(hfDir)), options.dtype),
      tensors,
      data: (_t, i) => encodeGgufTensor(tensors[i]!.values(), tensors[i]!.type),
    });
  } finally {
    hf.tensors.close();
  }
}

/** What llama.cpp's graph for the architecture can hold; the converter would write a file it rejects. */
function checkSupported(c: LlamaConfig, configPath: string): void {
  const fail = (key: string, problem: string): never => {
    throw new ModelFormatError(configPath, `${problem}; llama.cpp's ${c.modelType} architecture cannot hold it`, { key });
  };
  if (c.modelType === 'qwen3' && c.oBias) fail('attention_bias', 'o_proj has a bias');
  if (c.modelType === 'qwen2' && c.numHeads * c.headDim !== c.hiddenSize) fail('head_dim', `num_attention_heads x head_dim (${c.numHeads * c.headDim}) differs from hidden_size (${c.hiddenSize})`);
  if (c.modelType !== 'llama' && c.ropeScaling?.type === 'llama3') fail('rope_scaling', 'Llama 3 RoPE scaling (a rope_freqs tensor)');
}

function planTensors(c: LlamaConfig, hf: HfDirectory, out: GgufOutType): PlannedTensor[] {
  checkSupported(c, hf.configPath);
  const store = hf.tensors;
  const H = c.hiddenSize;
  const I = c.intermediateSize;
  const qDim = c.numHeads * c.headDim;
  const kvDim = c.numKvHeads * c.headDim;
  const plan: PlannedTensor[] = [];
  const used = new Set<string>();

  /** A GGUF tensor made from one checkpoint tensor, whose shape must be the one config.json implies. */
  const from = (name: string, hfName: string, shape: readonly number[], transform?: (v: Float32Array) => Float32Array): void => {
    const info = store.info(hfName);
    if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
      throw new ModelFormatError(info.file, `shape [${info.shape.join(', ')}] does not match config.json, which implies [${shape.join(', ')}]`, { tensor: hfName });
    }
    if (!SOURCE_DTYPES.includes(info.dtype)) {
      throw new ModelFormatError(info.file, `dtype ${info.dtype} cannot be converted (${SOURCE_DTYPES.join(', ')} can)`, { tensor: hfName });
    }
    used.add(hfName);
    const values = (): Float32Array => {
      const v = decodeToF32(store.read(hfName), info.dtype);
      return transform ? transform(v) : v;
    };
    plan.push({ name, type: ggufTensorType(name, shape, out, { layers: c.numLayers, tiedEmbedding: c.tieWordEmbeddings }), shape, values });
  };
  const ropePermute = (rows: number, heads: number) => (c.modelType === 'llama' ? (v: Float32Array) => permuteRopeRows(v, rows, heads) : undefined);
  const permuteQ = ropePermute(qDim, c.numHeads);
  const permuteK = ropePermute(kvDim, c.numKvHeads);

  from('token_embd.weight', 'model.embed_tokens.weight', [c.vocabSize, H]);
  if (c.ropeScaling?.type === 'llama3') {
    const factors = llama3RopeFactors(c, c.ropeScaling.llama3);
    plan.push({ name: 'rope_freqs.weight', type: 'F32', shape: [factors.length], values: () => factors });
  }
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    const a = `${p}.self_attn`;
    const m = `${p}.mlp`;
    const b = `blk.${l}`;
    from(`${b}.attn_norm.weight`, `${p}.input_layernorm.weight`, [H]);
    from(`${b}.attn_q.weight`, `${a}.q_proj.weight`, [qDim, H], permuteQ);
    from(`${b}.attn_k.weight`, `${a}.k_proj.weight`, [kvDim, H], permuteK);
    from(`${b}.attn_v.weight`, `${a}.v_proj.weight`, [kvDim, H]);
    if (c.qkvBias) {
      from(`${b}.attn_q.bias`, `${a}.q_proj.bias`, [qDim], permuteQ);
      from(`${b}.attn_k.bias`, `${a}.k_proj.bias`, [kvDim], permuteK);
      from(`${b}.attn_v.bias`, `${a}.v_proj.bias`, [kvDim]);
    }
    if (c.qkNorm) {
      from(`${b}.attn_q_norm.weight`, `${a}.q_norm.weight`, [c.headDim]);
      from(`${b}.attn_k_norm.weight`, `${a}.k_norm.weight`, [c.headDim]);
    }
    from(`${b}.attn_output.weight`, `${a}.o_proj.weight`, [H, qDim]);
    if (c.oBias) from(`${b}.attn_output.bias`, `${a}.o_proj.bias`, [H]);
    from(`${b}.ffn_norm.weight`, `${p}.post_attention_layernorm.weight`, [H]);
    from(`${b}.ffn_gate.weight`, `${m}.gate_proj.weight`, [I, H]);
    from(`${b}.ffn_up.weight`, `${m}.up_proj.weight`, [I, H]);
    from(`${b}.ffn_down.weight`, `${m}.down_proj.weight`, [H, I]);
    if (c.mlpBias) {
      from(`${b}.ffn_gate.bias`, `${m}.gate_proj.bias`, [I]);
      from(`${b}.ffn_up.bias`, `${m}.up_proj.bias`, [I]);
      from(`${b}.ffn_down.bias`, `${m}.down_proj.bias`, [H]);
    }
  }
  from('output_norm.weight', 'model.norm.weight', [H]);
  if (!c.tieWordEmbeddings) from('output.weight', 'lm_head.weight', [c.vocabSize, H]);
  else if (store.has('lm_head.weight')) used.add('lm_head.weight'); // a saved copy of the tied embedding

  for (const name of store.names()) {
    // transformers once saved the RoPE table as a buffer; the converter skips it too.
    if (used.has(name) || name.endsWith('.rotary_emb.inv_freq')) continue;
    throw new ModelFormatError(store.info(name).file, `not a tensor of a ${c.modelType} checkpoint with this config.json; llama.cpp's converter could not map it`, { tensor: name });
  }
  return plan;
}

/**
 * llama.cpp's LlamaModel.permute on a [rows, cols] matrix (or a [rows] bias) of `heads` heads of d
 * rows: inside each head, HF row s·d/2 + j becomes row 2j + s. The pairs (j, j + d/2) that HF's
 * rotate_half rotates together become the adjacent pairs (2j, 2j + 1) that llama.cpp's NORM RoPE
 * rotates at the same frequency; applied alike to q and k, it leaves q·k unchanged.
 */
export function permuteRopeRows(values: Float32Array, rows: number, heads: number): Float32Array {
  const cols = values.length / rows;
  const d = rows / heads;
  const half = d / 2;
  const out = new Float32Array(values.length);
  for (let h = 0; h < heads; h++) {
    for (let s = 0; s < 2; s++) {
      for (let j = 0; j < half; j++) {
        const src = h * d + s * half + j;
        const dst = h * d + 2 * j + s;
        out.set(values.subarray(src * cols, (src + 1) * cols), dst * cols);
      }
    }
  }
  return out;
}

/**
 * The rope_freqs tensor [headDim / 2] of Llama 3 RoPE scaling (conversion/llama.py
 * generate_extra_tensors): the divisor llama.cpp applies to each base frequency, 1 for short
 * wavelengths, `factor` for long ones and a smooth blend between.
 */
function llama3RopeFactors(c: LlamaConfig, s: Llama3Scaling): Float32Array {
  const freqs = ropeFrequencies({ theta: c.ropeTheta, dim: c.headDim, yarn: null }); // float32, as torch computes them
  const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  return freqs.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highWavelen) return 1;
    if (wavelen > lowWavelen) return s.factor;
    const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    return 1 / ((1 - smooth) / s.factor + smooth);
  });
}
