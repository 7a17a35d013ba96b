// `tessera inspect`: what a model directory holds and what it costs to run.
import { parseArgs } from 'node:util';
import { openHfDirectory } from '../formats/hf-directory.js';
import type { HfDirectory } from '../formats/hf-directory.js';
import { DTYPE_BYTES } from '../formats/dtype.js';
import { ModelFormatError } from '../formats/errors.js';
import { DEEPSEEK_MODEL_TYPES, isMoeLayer, parseDeepseekConfig } from '../models/deepseek-config.js';
import type { DeepseekConfig } from '../models/deepseek-config.js';
import { attentionScale } from '../numerics/rope.js';
import { SUPPORTED_MODEL_TYPES } from '../models/registry.js';
import { requireFlag } from './common.js';

export const INSPECT_USAGE = `tessera inspect --model DIR [--json]
  Architecture, parameter count, dtypes, bytes and KV-cache bytes per token of a model directory.`;

export interface InspectReport {
  model: string;
  architecture: string;
  config: DeepseekConfig;
  parameters: { total: number; mtp: number; activePerToken: number };
  dtypes: Record<string, { tensors: number; bytes: number }>;
  weightBytes: number;
  /** per token, all layers: latent as e4m3 + ue8m0 scales (V3.2) or float32, rope key float32, indexer e4m3 + scale */
  kvBytesPerToken: number;
  notes: string[];
}

/** KV-cache bytes per token of Tessera's compact cache layout (used by the native backends). */
export function kvBytesPerToken(c: DeepseekConfig): number {
  const latent = c.indexer ? c.kvLoraRank + 4 * Math.ceil(c.kvLoraRank / 128) : 4 * c.kvLoraRank;
  const indexer = c.indexer ? c.indexer.headDim + 4 : 0;
  return c.numLayers * (latent + 4 * c.qkRopeHeadDim + indexer);
}

export function inspectModel(dir: HfDirectory): InspectReport {
  const type = dir.config['model_type'];
  if (typeof type !== 'string' || !(DEEPSEEK_MODEL_TYPES as readonly string[]).includes(type)) {
    throw new ModelFormatError(dir.configPath, `unknown model_type ${JSON.stringify(type)}; supported: ${SUPPORTED_MODEL_TYPES.join(', ')}`, { key: 'model_type' });
  }
  const c = parseDeepseekConfig(dir.configPath, dir.config);
  const dtypes: InspectReport['dtypes'] = {};
  let total = 0;
  let mtp = 0;
  let routed = 0;
  let weightBytes = 0;
  for (const name of dir.tensors.names()) {
    const t = dir.tensors.info(name);
    const bytes = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
    weightBytes += bytes;
    const d = (dtypes[t.dtype] ??= { tensors: 0, bytes: 0 });
    d.tensors++;
    d.bytes += bytes;
    if (name.endsWith('_scale_inv')) continue;
    const n = t.shape.reduce((a, b) => a * b, 1);
    const layer = /^model\.layers\.(\d+)\./.exec(name);
    if (layer && Number(layer[1]) >= c.numLayers) mtp += n;
    else {
      total += n;
      if (/\.mlp\.experts\.\d+\./.test(name)) routed += n;
    }
  }
  const active = total - routed + (c.nRoutedExperts > 0 ? (routed * c.numExpertsPerTok) / c.nRoutedExperts : 0);
  const notes: string[] = [];
  if (c.numNextnPredictLayers > 0) {
    notes.push(`multi-token prediction: ${c.numNextnPredictLayers} layer(s) after layer ${c.numLayers - 1} are loaded and ignored (no speculative decoding yet)`);
  }
  return {
    model: dir.dir,
    architecture: type,
    config: c,
    parameters: { total, mtp, activePerToken: Math.round(active) },
    dtypes,
    weightBytes,
    kvBytesPerToken: kvBytesPerToken(c),
    notes,
  };
}

function human(n: number, unit = ''): string {
  const steps = ['', 'K', 'M', 'G', 'T'];
  let i = 0;
  while (Math.abs(n) >= 1000 && i < steps.length - 1) {
    n /= 1000;
    i++;
  }
  return `${Number(n.toFixed(2))}${steps[i]}${unit}`;
}

export function formatReport(r: InspectReport): string {
  const c = r.config;
  const dense = Array.from({ length: c.numLayers }, (_, l) => l).filter((l) => !isMoeLayer(c, l)).length;
  const lines = [
    `model         ${r.model}`,
    `architecture  ${r.architecture}: ${c.numLayers} layers (${dense} dense, ${c.numLayers - dense} MoE), hidden ${c.hiddenSize}, vocab ${c.vocabSize}, context ${c.maxPositionEmbeddings}`,
    `attention     MLA: ${c.numHeads} heads, q_lora_rank ${c.qLoraRank ?? 'none (q_proj)'}, kv_lora_rank ${c.kvLoraRank}, qk nope/rope ${c.qkNopeHeadDim}/${c.qkRopeHeadDim}, v ${c.vHeadDim}, softmax scale ${attentionScale(c.qkNopeHeadDim + c.qkRopeHeadDim, c.yarn).toFixed(6)}` +
      (c.yarn ? `, YaRN factor ${c.yarn.factor} (original context ${c.yarn.originalMaxPositionEmbeddings})` : ''),
    `sparse attn   ${c.indexer ? `DSA lightning indexer: ${c.indexer.nHeads} heads x ${c.indexer.headDim}, top-k ${c.indexer.topk}` : 'none (dense attention)'}`,
    `experts       ${c.nRoutedExperts > 0 ? `${c.nRoutedExperts} routed (${c.numExpertsPerTok} per token; ${c.nGroup} groups, top ${c.topkGroup}), ${c.nSharedExperts} shared, ${c.scoringFunc} ${c.topkMethod}, scale ${c.routedScalingFactor}` : 'none'}`,
    `parameters    ${human(r.parameters.total)} (${r.parameters.total}), active per token ${human(r.parameters.activePerToken)}` + (r.parameters.mtp ? `, plus ${human(r.parameters.mtp)} in MTP layers` : ''),
    `weights       ${human(r.weightBytes, 'B')}: ` + Object.entries(r.dtypes).map(([d, v]) => `${d} ${v.tensors} tensors ${human(v.bytes, 'B')}`).join(', '),
    `quantization  ${c.fp8 ? `FP8 e4m3, ${c.fp8.blockSize.join('x')} blocks, ${c.fp8.scaleFormat} activation scales` : 'none'}`,
    `KV cache      ${r.kvBytesPerToken} bytes per token (${human(r.kvBytesPerToken * 131072, 'B')} at 128K tokens)`,
    ...r.notes.map((n) => `note          ${n}`),
  ];
  return lines.join('\n') + '\n';
}

export async function inspectCommand(argv: string[], out: (s: string) => void): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { model: { type: 'string' }, json: { type: 'boolean' } }, strict: true });
  const dir = openHfDirectory(requireFlag('model', values.model));
  try {
    const report = inspectModel(dir);
    out(values.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
  } finally {
    dir.tensors.close();
  }
}
