// Tensors computed at load time (a layout the file does not store, a rank's slice of a matrix),
// each kept in a scratch file of its own: devices memory-map weights by file and offset (the cpu
// device maps TensorInfo.file itself), so such a tensor must live in a file like the others. The
// files are removed when the owner closes them, or at exit.
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TensorDType } from './dtype.js';
import type { TensorInfo } from './safetensors.js';

/** Scratch directories still present; removed at exit when their owner never closed them. */
const LIVE = new Set<string>();
let exitHook = false;

function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  LIVE.add(dir);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => LIVE.forEach((d) => rmSync(d, { recursive: true, force: true })));
  }
  return dir;
}

export class ScratchTensors {
  private dir: string | null = null;
  private count = 0;

  constructor(private readonly prefix: string) {}

  /** Writes `bytes` as tensor `name` and returns where it lives. */
  add(name: string, dtype: TensorDType, shape: readonly number[], bytes: Uint8Array): TensorInfo {
    this.dir ??= scratchDir(this.prefix);
    const file = join(this.dir, `${this.count++}.bin`);
    writeFileSync(file, bytes);
    return { name, dtype, shape: [...shape], file, offset: 0, byteLength: bytes.byteLength };
  }

  read(info: TensorInfo, start: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    const fd = openSync(info.file, 'r');
    try {
      readSync(fd, out, 0, length, info.offset + start);
    } finally {
      closeSync(fd);
    }
    return out;
  }

  close(): void {
    if (this.dir) {
      rmSync(this.dir, { recursive: true, force: true });
      LIVE.delete(this.dir);
    }
    this.dir = null;
  }
}
