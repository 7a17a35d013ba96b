// How an architecture asks for its tensors: by name, with the shape its config implies and the
// role the tensor plays. A StoreBinder binds them from a checkpoint (checking every shape); a
// ManifestRecorder only lists them, so random checkpoints of any architecture can be written from
// the same code that reads real ones.
import type { Backend } from '../ops/backend.js';
import type { Weight, WeightDType, WeightSpec } from '../ops/tensors.js';
import { ModelFormatError } from '../formats/errors.js';
import type { TensorStore } from '../formats/tensor-store.js';

/**
 * What a tensor is for. `linear` and `out` matrices may be stored block-scaled FP8 (`out` is a
 * projection back into the residual stream); `dense` matrices stay in a float dtype in FP8
 * checkpoints (routers, the indexer's head weights); `router-bias` is kept in float32.
 */
export type WeightRole = 'embedding' | 'lm-head' | 'linear' | 'out' | 'dense' | 'norm' | 'bias' | 'router-bias';

export interface WeightBinder {
  weight(name: string, shape: readonly number[], role: WeightRole): Weight;
  /** A tensor the checkpoint may omit (null when it does). */
  optional(name: string, shape: readonly number[], role: WeightRole): Weight | null;
}

/** FP8 weights carry a scale per 128x128 block. */
/** FP8 block-scaled weights: one weight_scale_inv value per FP8_BLOCK x FP8_BLOCK block */
export const FP8_BLOCK = 128;

/** The weight spec of a stored tensor, its shape checked against what the config implies. */
export function checkedSpec(store: TensorStore, name: string, shape: readonly number[]): WeightSpec {
  const info = store.info(name);
  if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
    throw new ModelFormatError(info.file, `shape [${info.shape.join(', ')}] disagrees with the config, which implies [${shape.join(', ')}]`, { tensor: store.fileName?.(name) ?? name });
  }
  let scale = null;
  if (info.dtype === 'F8_E4M3') {
    const scaleName = `${name}_scale_inv`;
    if (!store.has(scaleName)) throw new ModelFormatError(info.file, `FP8 weight without its ${scaleName}`, { tensor: name });
    scale = store.info(scaleName);
    const want = shape.map((d) => Math.ceil(d / FP8_BLOCK));
    if (scale.shape.length !== want.length || scale.shape.some((d, i) => d !== want[i])) {
      throw new ModelFormatError(scale.file, `shape [${scale.shape.join(', ')}] should be [${want.join(', ')}] (128x128 blocks)`, { tensor: scaleName });
    }
    if (scale.dtype !== 'F32' && scale.dtype !== 'BF16') throw new ModelFormatError(scale.file, `dtype ${scale.dtype} is not a scale dtype`, { tensor: scaleName });
  }
  return { store, tensor: info, scale };
}

export class StoreBinder implements WeightBinder {
  constructor(
    private readonly store: TensorStore,
    private readonly backend: Backend,
  ) {}

  /** Bind a tensor, checking its shape; FP8 matrices also bind their weight_scale_inv. */
  weight(name: string, shape: readonly number[]): Weight {
    return this.backend.loadWeight(checkedSpec(this.store, name, shape));
  }

  optional(name: string, shape: readonly number[]): Weight | null {
    return this.store.has(name) ? this.weight(name, shape) : null;
  }
}

/** Checks that a store holds every tensor the architecture binds, in its shape, without loading any. */
export class CheckBinder implements WeightBinder {
  constructor(private readonly store: TensorStore) {}

  weight(name: string, shape: readonly number[]): Weight {
    const { tensor } = checkedSpec(this.store, name, shape);
    return { name, shape: tensor.shape, dtype: 'F32' };
  }

  optional(name: string, shape: readonly number[]): Weight | null {
    return this.store.has(name) ? this.weight(name, shape) : null;
  }
}

export interface ManifestEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly role: WeightRole;
  readonly optional: boolean;
}

/** Records every tensor an architecture binds; the weights it hands back hold no data. */
export class ManifestRecorder implements WeightBinder {
  readonly entries: ManifestEntry[] = [];

  weight(name: string, shape: readonly number[], role: WeightRole): Weight {
    return this.record(name, shape, role, false);
  }

  optional(name: string, shape: readonly number[], role: WeightRole): Weight {
    return this.record(name, shape, role, true);
  }

  private record(name: string, shape: readonly number[], role: WeightRole, optional: boolean): Weight {
    const seen = this.entries.find((e) => e.name === name);
    if (!seen) this.entries.push({ name, shape: [...shape], role, optional });
    const dtype: WeightDType = 'F32';
    return { name, shape, dtype };
  }
}
