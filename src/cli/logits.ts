// `tessera logits`: prompt logits at every position and incremental decode logits, as JSON.
import { parseArgs } from 'node:util';
import { openModel } from '../models/open-model.js';
import { loadModel } from '../models/registry.js';
import { SingleSequence, argmax } from '../engine/single-sequence.js';
import { UsageError } from './cli-error.js';
import { tensorParallelFlag } from './tensor-parallel.js';
import { backendFromFlags, kvCacheDtypeFlag, oneOf, parseIntList, parsePositiveInt, requireFlag } from './common.js';

export const LOGITS_USAGE = `tessera logits --model DIR --tokens 0,17,42 [--decode 5,9,12 | --greedy N] [--device NAME] [--fp8-activations quant|none] [--kv-cache-dtype auto|f32|f16|bf16] [--tensor-parallel N [--expert-parallel]]
  Prints {"prompt_logits": [[...] per prompt position], "decode_tokens": [...], "decode_logits": [[...] per step]}.
  --decode feeds the given ids one at a time through the incremental decode path (teacher forcing);
  --greedy N feeds the argmax of the previous row instead.
  --tensor-parallel N: one of N ranks under mpirun -np N (Llama/Qwen2/Qwen3, DeepSeek); rank 0 prints;
  --expert-parallel: DeepSeek's routed experts whole per rank (N / E each) instead of split in width.`;

export async function logitsCommand(argv: string[], stdout: (s: string) => void): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      tokens: { type: 'string' },
      decode: { type: 'string' },
      greedy: { type: 'string' },
      device: { type: 'string' },
      threads: { type: 'string' },
      'fp8-activations': { type: 'string' },
      'kv-cache-dtype': { type: 'string' },
      'tensor-parallel': { type: 'string' },
      'expert-parallel': { type: 'boolean' },
    },
    strict: true,
  });
  const prompt = parseIntList('tokens', requireFlag('tokens', values.tokens));
  if (values.decode !== undefined && values.greedy !== undefined) throw new UsageError('give either --decode or --greedy, not both');
  const forced = values.decode !== undefined ? parseIntList('decode', values.decode) : null;
  const greedy = values.greedy !== undefined ? parsePositiveInt('greedy', values.greedy, 0, 0) : 0;
  const steps = forced ? forced.length : greedy;
  const fp8Activations = oneOf('fp8-activations', values['fp8-activations'], ['quant', 'none'] as const, 'quant');

  const tp = tensorParallelFlag(values, stdout);
  const out = tp.out;
  const dir = openModel(requireFlag('model', values.model));
  const backend = await backendFromFlags(values.device, values.threads === undefined ? undefined : parsePositiveInt('threads', values.threads, 1));
  const kvCacheDtype = kvCacheDtypeFlag(values['kv-cache-dtype']);
  const model = loadModel(dir, backend, { fp8Activations, ...(kvCacheDtype ? { kvCacheDtype } : {}), ...tp.modelOptions });
  try {
    const { vocabSize: V, maxPositionEmbeddings } = model.info;
    for (const id of [...prompt, ...(forced ?? [])]) {
      if (id >= V) throw new UsageError(`token id ${id} is outside the model's vocabulary (${V} tokens)`);
    }
    if (prompt.length + steps > maxPositionEmbeddings) {
      throw new UsageError(`${prompt.length + steps} tokens exceed the model's context (${maxPositionEmbeddings})`);
    }
    const seq = new SingleSequence(model, { maxTokens: prompt.length + steps });
    const promptLogits = await seq.prefill(prompt);
    const rows = (data: Float32Array, n: number) => Array.from({ length: n }, (_, i) => Array.from(data.subarray(i * V, (i + 1) * V)));
    const decodeTokens: number[] = [];
    const decodeLogits: number[][] = [];
    let last = promptLogits.subarray((prompt.length - 1) * V);
    for (let s = 0; s < steps; s++) {
      const token = forced ? forced[s]! : argmax(last);
      decodeTokens.push(token);
      last = await seq.decode(token);
      decodeLogits.push(Array.from(last));
    }
    out(JSON.stringify({ prompt_logits: rows(promptLogits, prompt.length), decode_tokens: decodeTokens, decode_logits: decodeLogits }) + '\n');
  } finally {
    model.dispose();
    dir.close();
    tp.close();
  }
}
