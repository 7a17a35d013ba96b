// Data held by the reference backend: plain typed arrays, decoded on use, nothing clever.
import type { QuantTensor, Routing, Selection, Tensor, Weight, WeightDType, WeightSpec } from '../../ops/tensors.js';
import { weightDType } from '../../ops/tensors.js';
import { QUANT_BLOCKS, bf16ToF32, decodeToF32, f16ToF32, isQuantDType } from '../../formats/dtype.js';
import { dequantizeBlocks } from '../../formats/gguf-dequant.js';
import { E4M3_VALUES } from '../../numerics/fp8.js';
import { ModelFormatError } from '../../formats/errors.js';

export class RefTensor implements Tensor {
  constructor(
    readonly shape: readonly [number, number],
    readonly data: Float32Array,
  ) {
    if (data.length !== shape[0] * shape[1]) throw new Error(`tensor data ${data.length} != ${shape.join('x')}`);
  }
  get rows(): number {
    return this.shape[0];
  }
  get cols(): number {
    return this.shape[1];
  }
}

export class RefQuant implements QuantTensor {
  /** values: e4m3 values as floats [rows, cols]; scales: [rows, cols/128] */
  constructor(
    readonly shape: readonly [number, number],
    readonly values: Float32Array,
    readonly scales: Float32Array,
  ) {}
}

export class RefSelection implements Selection {
  constructor(
    readonly shape: readonly [number, number],
    readonly indices: Int32Array,
  ) {}
}

export class RefRouting implements Routing {
  constructor(
    readonly rows: number,
    readonly topk: number,
    readonly experts: Int32Array,
    readonly weights: Float32Array,
  ) {}
}

/** A weight kept in its file dtype; bytes are read from the file the first time they are needed. */
export class RefWeight implements Weight {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: WeightDType;
  private raw: Uint8Array | null = null;
  private scaleInv: Float32Array | null = null;

  constructor(private readonly spec: WeightSpec) {
    const t = spec.tensor;
    this.dtype = weightDType(t);
    this.name = t.name;
    this.shape = t.shape;
  }

  get bytes(): Uint8Array {
    this.raw ??= this.spec.store.read(this.spec.tensor.name);
    return this.raw;
  }

  get cols(): number {
    return this.shape.length === 2 ? this.shape[1]! : this.shape[0]!;
  }

  /** weight_scale_inv [ceil(out/128), ceil(in/128)] of an FP8 matrix */
  get scales(): Float32Array {
    if (this.dtype !== 'F8_E4M3') throw new Error(`${this.name} is not FP8`);
    if (!this.scaleInv) {
      const s = this.spec.scale;
      if (!s) throw new ModelFormatError(this.spec.tensor.file, 'FP8 weight has no weight_scale_inv', { tensor: this.name });
      this.scaleInv = decodeToF32(this.spec.store.read(s.name), s.dtype);
    }
    return this.scaleInv;
  }

  /** Whole weight as float32 (vectors: norms, biases). */
  toF32(): Float32Array {
    if (this.dtype === 'F8_E4M3') {
      const out = new Float32Array(this.shape.reduce((a, b) => a * b, 1));
      for (let r = 0; r < out.length / this.cols; r++) this.decodeRow(r, out.subarray(r * this.cols, (r + 1) * this.cols));
      return out;
    }
    return decodeToF32(this.bytes, this.dtype);
  }

  /**
   * Dequantized row r into `out` (length = cols): FP8 values times their block's scale_inv, GGUF
   * blocks as llama.cpp dequantizes them, float32.
   */
  decodeRow(r: number, out: Float32Array): void {
    const cols = this.cols;
    const b = this.bytes;
    const base = r * cols;
    if (isQuantDType(this.dtype)) {
      const { elements, bytes } = QUANT_BLOCKS[this.dtype];
      dequantizeBlocks(this.dtype, b, r * (cols / elements) * bytes, cols / elements, out);
      return;
    }
    switch (this.dtype) {
      case 'F32': {
        const view = new DataView(b.buffer, b.byteOffset + base * 4, cols * 4);
        for (let i = 0; i < cols; i++) out[i] = view.getFloat32(i * 4, true);
        break;
      }
      case 'BF16':
        for (let i = 0; i < cols; i++) out[i] = bf16ToF32(b[(base + i) * 2]! | (b[(base + i) * 2 + 1]! << 8));
        break;
      case 'F16':
        for (let i = 0; i < cols; i++) out[i] = f16ToF32(b[(base + i) * 2]! | (b[(base + i) * 2 + 1]! << 8));
        break;
      case 'F8_E4M3': {
        const scales = this.scales;
        const sCols = Math.ceil(cols / 128);
        const sRow = Math.floor(r / 128) * sCols;
        for (let i = 0; i < cols; i++) out[i] = Math.fround(E4M3_VALUES[b[base + i]!]! * scales[sRow + Math.floor(i / 128)]!);
        break;
      }
    }
  }

  /** Raw e4m3 values (no scale) of row r, for the quantized-activation product. */
  fp8Row(r: number, out: Float32Array): void {
    const b = this.bytes;
    const base = r * this.cols;
    for (let i = 0; i < this.cols; i++) out[i] = E4M3_VALUES[b[base + i]!]!;
  }
}

export function asRef(t: Tensor): RefTensor {
  if (!(t instanceof RefTensor)) throw new Error('tensor does not belong to the ref backend');
  return t;
}

export function asRefWeight(w: Weight): RefWeight {
  if (!(w instanceof RefWeight)) throw new Error(`weight ${w.name} does not belong to the ref backend`);
  return w;
}
