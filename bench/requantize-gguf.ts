// A GGUF file rewritten in another file type, as `llama-quantize` does: the same metadata (but
// general.file_type), every tensor decoded to float32 and stored in the type gguf-quant.ts picks
// for its name and shape (1-D tensors and norms stay F32; Q4_K_M mixes Q4_K and Q6_K). Used to
// make the quantized bench files from the BF16 ones; the layer count comes from `<arch>.block_count`.
//
//   node dist/bench/requantize-gguf.js IN.gguf OUT.gguf Q4_K_M
import { GgufFile } from '../src/formats/gguf.js';
import { gv } from '../src/formats/gguf-types.js';
import type { GgmlTypeName } from '../src/formats/gguf-types.js';
import { writeGguf } from '../src/formats/gguf-writer.js';
import { decodeToF32 } from '../src/formats/dtype.js';
import type { TensorDType } from '../src/formats/dtype.js';
import { isMain } from './bench-util.js';
import { GGUF_OUT_TYPES, LLAMA_FILE_TYPE, encodeGgufTensor, ggufTensorType } from './gguf-quant.js';
import type { GgufOutType } from './gguf-quant.js';

export async function requantizeGguf(input: string, output: string, type: GgufOutType): Promise<number> {
  const f = GgufFile.open(input);
  try {
    const arch = f.metadata.get('general.architecture');
    const layers = f.metadata.get(`${arch?.type === 'string' ? arch.value : ''}.block_count`);
    if (!layers || typeof layers.value !== 'number') throw new Error(`${input}: no <architecture>.block_count`);
    const ctx = { layers: layers.value, tiedEmbedding: !f.tensors.has('output.weight') };
    const specs = [...f.tensors.values()].map((t) => ({ name: t.name, shape: t.shape, from: t.type.name as TensorDType, type: ggufTensorType(t.name, t.shape, type, ctx) as GgmlTypeName }));
    const metadata = new Map(f.metadata);
    metadata.set('general.file_type', gv.u32(LLAMA_FILE_TYPE[type]));
    const r = await writeGguf(output, {
      metadata,
      tensors: specs,
      data: (_t, i) => {
        const s = specs[i]!;
        const bytes = f.read(s.name);
        return s.type === s.from ? bytes : encodeGgufTensor(decodeToF32(bytes, s.from), s.type as Parameters<typeof encodeGgufTensor>[1]);
      },
    });
    return r.fileSize;
  } finally {
    f.close();
  }
}

if (isMain(import.meta.url)) {
  const [input, output, type] = process.argv.slice(2);
  if (!input || !output || !type || !(GGUF_OUT_TYPES as readonly string[]).includes(type)) {
    console.error(`usage: node dist/bench/requantize-gguf.js IN.gguf OUT.gguf TYPE (${GGUF_OUT_TYPES.join(', ')})`);
    process.exit(2);
  }
  const bytes = await requantizeGguf(input, output, type as GgufOutType);
  console.log(`${output}: ${(bytes / 2 ** 30).toFixed(2)} GiB`);
}
