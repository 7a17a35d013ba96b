// Host-side launch arithmetic shared by CUDA and HIP (no driver needed, so it is tested anywhere):
// kernel arguments packed into the void** array cuLaunchKernel / hipModuleLaunchKernel read, and
// the grid of a launch. The renderers compute pid = blockIdx.x + blockIdx.y * gridDim.x and return
// when pid >= programs, so any x * y >= programs is correct.
import type { Param } from '../../dsl/ir.js';

/** Each argument in an 8-byte slot; the pointer table follows the slots. */
export interface ArgLayout {
  readonly params: readonly Param[];
  /** bytes of the argument slots (8 per parameter) */
  readonly slotBytes: number;
  /** slots plus the table of slot addresses (the void** kernelParams) */
  readonly totalBytes: number;
}

export function argLayout(params: readonly Param[]): ArgLayout {
  const slotBytes = 8 * params.length;
  return { params, slotBytes, totalBytes: 2 * slotBytes + 8 };
}

/**
 * Writes the pointer table once: entry i (at slotBytes + 8i) holds base + 8i, the address of slot i.
 * `base` is the native address of `view`'s first byte.
 */
export function writeArgTable(view: DataView, layout: ArgLayout, base: number): void {
  layout.params.forEach((_, i) => view.setBigUint64(layout.slotBytes + 8 * i, BigInt(base + 8 * i), true));
}

/** Writes one launch's argument values (device addresses for buffers and lists, scalars by type). */
export function writeArgs(view: DataView, layout: ArgLayout, values: readonly number[]): void {
  layout.params.forEach((p, i) => {
    const v = values[i]!;
    const at = 8 * i;
    if (p.kind !== 'scalar') view.setBigUint64(at, BigInt(v), true);
    else if (p.t === 'f32') view.setFloat32(at, v, true);
    else if (p.t === 'u32') view.setUint32(at, v >>> 0, true);
    else view.setInt32(at, v | 0, true);
  });
}

/** Grid of a launch of `programs` blocks: x up to maxX, then rows of y. */
export function gridFor(programs: number, maxX = 2 ** 31 - 1, maxY = 65535): { x: number; y: number } {
  if (programs <= 0) return { x: 0, y: 0 };
  const x = Math.min(programs, maxX);
  const y = Math.ceil(programs / x);
  if (y > maxY) throw new RangeError(`${programs} programs exceed a ${maxX} x ${maxY} grid`);
  return { x, y };
}
