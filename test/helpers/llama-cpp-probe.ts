// A tiny Llama GGUF that lets llama.cpp show what it computes from one tensor, with nothing else
// in the way: a model whose single layer adds exactly zero (attn_output and ffn_down are zero) and
// whose RMSNorms are exact scalings (eps = 2^40 outweighs any mean square, so the norm multiplies
// by 1/sqrt(2^40) = 2^-20, which the gain 2^20 undoes). So
// - the hidden state llama.cpp returns as a token's embedding is that token's row of
//   `token_embd.weight`, dequantized by llama.cpp's get_rows, bit for bit;
// - the logits of a token are `output.weight` · its embedding row, through llama.cpp's CPU matmul
//   (activation conversion included).
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import type { Token } from 'node-llama-cpp';
import { writeGguf } from '../../src/formats/gguf-writer.js';
import { gv } from '../../src/formats/gguf-types.js';
import type { GgmlTypeName, GgufValue } from '../../src/formats/gguf-types.js';
import { encodeF32 } from '../../src/formats/gguf-codec.js';

export interface ProbeTensor {
  readonly type: GgmlTypeName;
  /** row-major [vocab, hidden] bytes in `type` */
  readonly bytes: Uint8Array;
}

const A = 'llama';
const FF = 64;

/** Writes the probe model: vocab x hidden token embeddings and output projection of the given types. */
export async function writeProbeModel(path: string, vocab: number, hidden: number, embedding: ProbeTensor, output: ProbeTensor): Promise<void> {
  const metadata: Array<[string, GgufValue]> = [
    ['general.architecture', gv.str(A)],
    [`${A}.block_count`, gv.u32(1)],
    [`${A}.context_length`, gv.u32(2 * vocab)],
    [`${A}.embedding_length`, gv.u32(hidden)],
    [`${A}.feed_forward_length`, gv.u32(FF)],
    [`${A}.attention.head_count`, gv.u32(4)],
    [`${A}.attention.head_count_kv`, gv.u32(4)],
    [`${A}.rope.freq_base`, gv.f32(10000)],
    [`${A}.rope.dimension_count`, gv.u32(hidden / 4)],
    [`${A}.attention.layer_norm_rms_epsilon`, gv.f32(2 ** 40)],
    [`${A}.vocab_size`, gv.u32(vocab)],
    ['tokenizer.ggml.model', gv.str('gpt2')],
    ['tokenizer.ggml.tokens', gv.strings(Array.from({ length: vocab }, (_, i) => `t${i}`))],
    ['tokenizer.ggml.merges', gv.strings([])],
  ];
  const f32 = (shape: number[], fill: number) => ({ type: 'F32' as const, shape, bytes: encodeF32(new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(fill)) });
  const tensors: Array<{ name: string; type: GgmlTypeName; shape: number[]; bytes: Uint8Array }> = [
    { name: 'token_embd.weight', shape: [vocab, hidden], ...embedding },
    { name: 'output_norm.weight', ...f32([hidden], 2 ** 20) },
    { name: 'output.weight', shape: [vocab, hidden], ...output },
    { name: 'blk.0.attn_norm.weight', ...f32([hidden], 1) },
    { name: 'blk.0.attn_q.weight', ...f32([hidden, hidden], 0.01) },
    { name: 'blk.0.attn_k.weight', ...f32([hidden, hidden], 0.01) },
    { name: 'blk.0.attn_v.weight', ...f32([hidden, hidden], 0.01) },
    { name: 'blk.0.attn_output.weight', ...f32([hidden, hidden], 0) },
    { name: 'blk.0.ffn_norm.weight', ...f32([hidden], 1) },
    { name: 'blk.0.ffn_gate.weight', ...f32([FF, hidden], 0.01) },
    { name: 'blk.0.ffn_up.weight', ...f32([FF, hidden], 0.01) },
    { name: 'blk.0.ffn_down.weight', ...f32([hidden, FF], 0) },
  ];
  await writeGguf(path, { metadata, tensors: tensors.map(({ name, type, shape }) => ({ name, type, shape })), data: (_t, i) => tensors[i]!.bytes });
}

/** The hidden state llama.cpp returns for each token fed alone (the probe model: its embedding row). */
export async function llamaCppEmbeddings(path: string, tokens: readonly number[]): Promise<Float64Array[]> {
  const llama = await getLlama({ gpu: false, build: 'never', skipDownload: true, usePrebuiltBinaries: true, progressLogs: false, logLevel: LlamaLogLevel.error });
  try {
    const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
    try {
      const context = await model.createEmbeddingContext({ contextSize: 256, threads: 1 });
      try {
        const rows: Float64Array[] = [];
        for (const t of tokens) rows.push(Float64Array.from((await context.getEmbeddingFor([t as Token])).vector));
        return rows;
      } finally {
        await context.dispose();
      }
    } finally {
      await model.dispose();
    }
  } finally {
    await llama.dispose();
  }
}
