// Tensors, weights and caches of backends that run DSL kernels on a Device.
import { KV_DTYPE_BYTES, compactBytesPerToken } from '../../ops/kv-cache.js';
import type { KvCache, KvCacheSpec } from '../../ops/kv-cache.js';
import type { QuantTensor, Routing, Selection, Tensor, Weight, WeightDType, WeightSpec } from '../../ops/tensors.js';
import { weightDType } from '../../ops/tensors.js';
import { decodeToF32 } from '../../formats/dtype.js';
import { ModelFormatError } from '../../formats/errors.js';
import type { Device, DeviceBuffer } from './device.js';

export class KTensor implements Tensor {
  constructor(
    readonly buf: DeviceBuffer,
    readonly shape: readonly [number, number],
  ) {}
  get rows(): number {
    return this.shape[0];
  }
  get cols(): number {
    return this.shape[1];
  }
}

export class KQuant implements QuantTensor {
  /** values: e4m3 values as f32 [rows, cols]; scales: f32 [rows, cols/128] */
  constructor(
    readonly values: KTensor,
    readonly scales: DeviceBuffer,
  ) {}
  get shape(): readonly number[] {
    return this.values.shape;
  }
}

export class KSelection implements Selection {
  constructor(
    readonly buf: DeviceBuffer,
    readonly shape: readonly [number, number],
  ) {}
}

export class KRouting implements Routing {
  constructor(
    readonly experts: DeviceBuffer,
    readonly weights: DeviceBuffer,
    readonly rows: number,
    readonly topk: number,
  ) {}
}

/** A weight in its file dtype (GGUF blocks in their file bytes), put on the device the first time a kernel needs it. */
export class KWeight implements Weight {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: WeightDType;
  private data: DeviceBuffer | null = null;
  private scaleData: DeviceBuffer | null = null;
  private f32Data: DeviceBuffer | null = null;

  constructor(
    private readonly device: Device,
    private readonly spec: WeightSpec,
  ) {
    const t = spec.tensor;
    this.dtype = weightDType(t);
    if (t.shape.reduce((a, b) => a * b, 1) >= 2 ** 31) throw new ModelFormatError(t.file, 'tensors of 2^31 or more elements are not supported', { tensor: t.name });
    this.name = t.name;
    this.shape = t.shape;
  }

  get buf(): DeviceBuffer {
    this.data ??= this.device.loadTensor(this.spec.store, this.spec.tensor);
    return this.data;
  }

  /** weight_scale_inv as f32 [ceil(out/128), ceil(in/128)] */
  get scales(): DeviceBuffer {
    if (!this.scaleData) {
      const s = this.spec.scale;
      if (!s) throw new ModelFormatError(this.spec.tensor.file, 'FP8 weight has no weight_scale_inv', { tensor: this.name });
      this.scaleData = s.dtype === 'F32' ? this.device.loadTensor(this.spec.store, s) : upload(this.device, decodeToF32(this.spec.store.read(s.name), s.dtype));
    }
    return this.scaleData;
  }

  /** The whole weight as f32 (small vectors such as the router bias). */
  get f32(): DeviceBuffer {
    if (this.dtype === 'F32') return this.buf;
    this.f32Data ??= upload(this.device, decodeToF32(this.spec.store.read(this.name), this.dtype));
    return this.f32Data;
  }
}

function upload(device: Device, data: Float32Array): DeviceBuffer {
  const b = device.alloc(data.byteLength);
  device.upload(b, data);
  return b;
}

export class KKvCache implements KvCache {
  /** MLA: latents (e4m3 codes or float32), their scales, rotary keys, indexer codes and scales */
  readonly latent: DeviceBuffer[] = [];
  readonly latentScales: DeviceBuffer[] = [];
  readonly pe: DeviceBuffer[] = [];
  readonly indexCodes: DeviceBuffer[] = [];
  readonly indexScales: DeviceBuffer[] = [];
  /** GQA: keys and values [slots, kvHeads*headDim] in the cache dtype */
  readonly k: DeviceBuffer[] = [];
  readonly v: DeviceBuffer[] = [];
  readonly bytesPerToken: number;

  constructor(
    device: Device,
    readonly spec: KvCacheSpec,
  ) {
    const slots = spec.numBlocks * spec.blockSize;
    this.bytesPerToken = compactBytesPerToken(spec);
    if (spec.kind === 'gqa') {
      const width = spec.kvHeads * spec.headDim;
      if (spec.dtype !== 'f32' && width % 2 !== 0) throw new Error('a 16-bit K/V cache needs an even kv_heads * head_dim');
      for (let l = 0; l < spec.layers; l++) {
        this.k.push(device.alloc(slots * width * KV_DTYPE_BYTES[spec.dtype]));
        this.v.push(device.alloc(slots * width * KV_DTYPE_BYTES[spec.dtype]));
      }
      return;
    }
    if (spec.latentFormat === 'fp8' && spec.latentDim % 4 !== 0) throw new Error('an FP8 latent cache needs kv_lora_rank divisible by 4');
    const latentBytes = spec.latentFormat === 'fp8' ? spec.latentDim : 4 * spec.latentDim;
    const scaleBytes = spec.latentFormat === 'fp8' ? 4 * Math.ceil(spec.latentDim / 128) : 0;
    for (let l = 0; l < spec.layers; l++) {
      this.latent.push(device.alloc(slots * latentBytes));
      this.latentScales.push(device.alloc(Math.max(4, slots * scaleBytes)));
      this.pe.push(device.alloc(slots * 4 * spec.ropeDim));
      this.indexCodes.push(device.alloc(Math.max(4, slots * spec.indexDim)));
      this.indexScales.push(device.alloc(Math.max(4, spec.indexDim > 0 ? slots * 4 : 4)));
    }
  }
}

export function asK(t: Tensor): KTensor {
  if (!(t instanceof KTensor)) throw new Error('tensor does not belong to this backend');
  return t;
}
export function asKW(w: Weight): KWeight {
  if (!(w instanceof KWeight)) throw new Error(`weight ${w.name} does not belong to this backend`);
  return w;
}
