// 'ggml' mode of the reference against llama.cpp's CPU matmul (node-llama-cpp's prebuilt binary):
// a probe model (test/helpers/llama-cpp-probe.ts) whose logits are output.weight · the token's
// float32 embedding row, with output.weight of each GGUF type (and F16 / BF16). llama.cpp reports
// log-probabilities, so rows are compared as log-softmax; 'ggml' mode (input rows converted to
// the weight's vec_dot type first) must match to float32 rounding, while 'plain' mode (exact
// activations) is measurably off, which shows the comparison sees the activation conversion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QUANT_DTYPES } from '../../formats/dtype.js';
import type { QuantDType, TensorDType } from '../../formats/dtype.js';
import { encodeBf16, encodeF16, encodeF32 } from '../../formats/gguf-codec.js';
import { quantize } from '../../formats/gguf-quantize.js';
import type { TensorStore } from '../../formats/tensor-store.js';
import type { LinearMode } from '../../ops/tensors.js';
import { randomValues } from '../../conformance/random.js';
import { RefBackend } from './ref-backend.js';
import { llamaCppLogProbs } from '../../../test/helpers/llama-cpp-reference.js';
import { writeProbeModel } from '../../../test/helpers/llama-cpp-probe.js';
import { logSoftmax } from '../../../test/helpers/log-probs.js';

const V = 64;
const H = 512;
/** llama.cpp's float32 sums against float64 ones, log-softmax of logits with std ~3 */
const GGML_TOLERANCE = 2e-5;

function encode(dtype: 'F16' | 'BF16' | QuantDType, values: Float32Array): Uint8Array {
  return dtype === 'F16' ? encodeF16(values) : dtype === 'BF16' ? encodeBf16(values) : quantize(dtype, values);
}

/** The reference's log-softmax rows of W · x_t for every token t in `mode`. */
async function refLogProbs(dtype: TensorDType, bytes: Uint8Array, x: Float32Array, mode: LinearMode): Promise<Float64Array[]> {
  const store: TensorStore = { source: 'memory', has: () => true, info: () => tensor, read: () => bytes, names: () => ['output.weight'], close: () => undefined };
  const tensor = { name: 'output.weight', dtype, shape: [V, H], file: 'memory', offset: 0, byteLength: bytes.byteLength };
  const b = new RefBackend();
  const y = await b.read(b.linear(b.fromHost(x, V, H), b.loadWeight({ store, tensor, scale: null }), mode));
  return Array.from({ length: V }, (_, t) => logSoftmax(y.subarray(t * V, (t + 1) * V)));
}

const maxDeviation = (a: Float64Array[], b: Float64Array[]) => Math.max(...a.map((row, t) => Math.max(...row.map((v, i) => Math.abs(v - b[t]![i]!)))));

test("'ggml' mode reproduces llama.cpp's CPU matmul for every GGUF type and F16 / BF16", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-ggml-'));
  try {
    const x = randomValues(5, V * H, 1);
    const tokens = Array.from({ length: V }, (_, i) => i);
    const report: string[] = [];
    for (const [n, dtype] of (['F16', 'BF16', ...QUANT_DTYPES] as const).entries()) {
      const bytes = encode(dtype, randomValues(100 + n, V * H, 0.15));
      const path = join(dir, `${dtype}.gguf`);
      await writeProbeModel(path, V, H, { type: 'F32', bytes: encodeF32(x) }, { type: dtype, bytes });
      const theirs = await llamaCppLogProbs(path, tokens, []);
      const ggml = maxDeviation(theirs, await refLogProbs(dtype, bytes, x, 'ggml'));
      const plain = maxDeviation(theirs, await refLogProbs(dtype, bytes, x, 'plain'));
      report.push(`${dtype} ggml ${ggml.toExponential(1)} plain ${plain.toExponential(1)}`);
      assert.ok(ggml <= GGML_TOLERANCE, `${dtype}: 'ggml' mode is ${ggml} from llama.cpp`);
      assert.ok(plain > 10 * ggml, `${dtype}: 'plain' mode (${plain}) should miss llama.cpp's activation conversion`);
    }
    console.log(report.join('\n'));
  } finally {
    rmSync(dir, { recursive: true });
  }
});
