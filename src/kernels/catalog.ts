// Every kernel the backends can launch, in representative configurations: what the render-only
// tests render for every target (and compile or validate where a toolchain exists).
import type { Kernel } from '../dsl/ir.js';
import type { LinearMode, RoutingParams, WeightDType } from '../ops/tensors.js';
import * as ew from './elementwise.js';
import { actQuantKernel, hadamardQuantKernel } from './quant.js';
import { linearKernel } from './linear.js';
import { linearLanesKernel } from './linear-lanes.js';
import { gatherLatentKernel, writeIndexKernel, writeLatentKernel } from './kv-cache.js';
import { indexerScoresKernel, topkKernel } from './indexer.js';
import { absorbOutputKernel, absorbQueryKernel, attentionDecodeKernel, attentionPrefillKernel } from './attention.js';
import { expertGemmKernel, moeAlignKernel, moeCombineKernel, routeKernel } from './moe.js';
import { int8DotKernel } from './int8-dot.js';
import { gqaAttentionKernel, writeKvKernel } from './gqa-attention.js';
import { ggmlActQuantKernel, roundActKernel } from './ggml-act.js';
import { QUANT_DTYPES } from '../formats/dtype.js';

const DTYPES: WeightDType[] = ['F32', 'F16', 'BF16', 'F8_E4M3'];
const modes = (d: WeightDType): LinearMode[] => (d === 'F8_E4M3' ? ['plain', 'fp8-act'] : ['plain']);

export function kernelCatalog(): Kernel[] {
  const k: Kernel[] = [ew.addKernel(), ew.siluMulKernel(), ew.copyKernel(), ew.narrowKernel(), ew.gatherRowsKernel(), ew.ropeKernel('interleaved'), ew.ropeKernel('half'), ew.argmaxKernel()];
  for (const d of DTYPES) k.push(ew.embedKernel(d), ew.embedKernel(d, true));
  for (const d of ['F32', 'BF16'] as const) k.push(ew.rmsNormKernel(d), ew.layerNormKernel(d), ew.addBiasKernel(d));
  k.push(actQuantKernel('ue8m0', false), actQuantKernel('plain', false), actQuantKernel('ue8m0', true), hadamardQuantKernel());
  for (const d of DTYPES) {
    for (const mode of modes(d)) {
      for (const tile of [{ rows: 4, tokens: 1 }, { rows: 4, tokens: 2 }]) {
        k.push(linearKernel({ dtype: d, mode, tile }));
        // GPU variant (WebGPU): one weight row per lane, optionally into a column block of y
        k.push(linearLanesKernel({ dtype: d, mode, tile: { rows: 64, tokens: 2 * tile.tokens }, outBlock: tile.tokens === 2 }));
        k.push(expertGemmKernel({ dtype: d, mode, tile, stage: 'gate_up' }), expertGemmKernel({ dtype: d, mode, tile, stage: 'down' }));
      }
    }
    // CPUs with 32 vector registers of 16 lanes (tileFor): 7 x 3 products, dense and expert
    for (const mode of modes(d)) {
      k.push(linearKernel({ dtype: d, mode, tile: { rows: 7, tokens: 3 } }));
      for (const stage of ['gate_up', 'down'] as const) k.push(expertGemmKernel({ dtype: d, mode, tile: { rows: 7, tokens: 3 }, stage }));
    }
    if (d !== 'F16') k.push(absorbQueryKernel(d, 128, 128, 512), absorbOutputKernel(d, 128, 128, 512));
  }
  k.push(writeLatentKernel('fp8'), writeLatentKernel('f32'), writeIndexKernel(), gatherLatentKernel('fp8'), gatherLatentKernel('f32'));
  k.push(indexerScoresKernel(64), topkKernel());
  for (const sparse of [true, false]) {
    k.push(attentionDecodeKernel('fp8', 512, 8, sparse), attentionDecodeKernel('f32', 512, 8, sparse), attentionPrefillKernel(128, 64, 128, sparse));
  }
  // the R1 distills: Qwen2-1.5B (12 heads on 2 KV heads of 128), Llama-8B / Qwen3-8B (32 on 8)
  for (const dtype of ['f32', 'f16', 'bf16'] as const) k.push(writeKvKernel(dtype), gqaAttentionKernel(dtype, 128, 6), gqaAttentionKernel(dtype, 128, 4));
  const v3: RoutingParams = { topk: 8, nGroup: 8, topkGroup: 4, scoring: 'sigmoid', groupScore: 'top2-sum', normalize: true, scalingFactor: 2.5 };
  const v2: RoutingParams = { topk: 6, nGroup: 1, topkGroup: 1, scoring: 'softmax', groupScore: 'max', normalize: false, scalingFactor: 1 };
  k.push(routeKernel(256, v3, true), routeKernel(64, v2, false), moeAlignKernel(), moeCombineKernel());
  k.push(int8DotKernel());
  // GGUF block weights: plain mode with one token per tile, 'ggml' mode (8-bit activations) with two
  for (const d of QUANT_DTYPES) {
    k.push(ew.embedKernel(d), ew.embedKernel(d, true));
    for (const [mode, tokens] of [['plain', 1], ['ggml', 2]] as const) {
      const tile = { rows: 4, tokens };
      k.push(linearKernel({ dtype: d, mode, tile }), linearLanesKernel({ dtype: d, mode, tile: { rows: 64, tokens: 2 * tokens }, outBlock: mode === 'ggml' }));
      for (const stage of ['gate_up', 'down'] as const) {
        k.push(expertGemmKernel({ dtype: d, mode, tile, stage }), expertGemmKernel({ dtype: d, mode, tile: { rows: 64, tokens }, stage, lanes: true }));
      }
    }
  }
  k.push(ggmlActQuantKernel('Q8_0'), ggmlActQuantKernel('Q8_1'), ggmlActQuantKernel('Q8_K'), roundActKernel('F16'), roundActKernel('BF16'));
  return k;
}
