// Per-step metadata of a device backend, computed on the host once and uploaded: each row's
// sequence, position and cache slot, the block tables, and the key slots of prefill sequences.
import type { SeqSlice, Step, StepInput } from '../../ops/step.js';
import type { DeviceBuffer } from './device.js';

export class DeviceStep implements Step {
  readonly rows: number;
  readonly prefillRows: number;
  /** largest position + 1 of any row (key count bound) */
  readonly maxKeys: number;
  readonly maxBlocks: number;
  readonly blockSize: number;
  /** host copies (small) */
  readonly rowPos: Int32Array;
  readonly prefillKeyCount: number;
  /** device copies */
  readonly tokens: DeviceBuffer;
  readonly cos: DeviceBuffer;
  readonly sin: DeviceBuffer;
  readonly rowSeqBuf: DeviceBuffer;
  readonly rowPosBuf: DeviceBuffer;
  readonly slots: DeviceBuffer;
  readonly tables: DeviceBuffer;
  /** slots of every key of every prefill slice, in slice order [K] */
  readonly prefillKeySlots: DeviceBuffer;
  /** for prefill rows: offset of the row's sequence keys in the gathered key list [Tp] */
  readonly prefillKeyBase: DeviceBuffer;

  constructor(
    readonly input: StepInput,
    blockSize: number,
    alloc: (data: Int32Array | Float32Array) => DeviceBuffer,
  ) {
    const T = input.tokens.length;
    this.rows = T;
    this.blockSize = blockSize;
    const seqs = input.seqs;
    const rowSeq = new Int32Array(T).fill(-1);
    const rowPos = new Int32Array(T);
    const slots = new Int32Array(T);
    let prefillRows = 0;
    let seenDecode = false;
    let maxKeys = 1;
    const maxBlocks = Math.max(1, ...seqs.map((s) => s.blockTable.length));
    seqs.forEach((s, i) => {
      if (s.mode === 'prefill') {
        if (seenDecode) throw new Error('step slices must list prefill slices before decode slices');
        prefillRows += s.rows;
      } else seenDecode = true;
      for (let r = 0; r < s.rows; r++) {
        const pos = s.startPos + r;
        rowSeq[s.rowStart + r] = i;
        rowPos[s.rowStart + r] = pos;
        slots[s.rowStart + r] = slotOf(s, pos, blockSize);
      }
      maxKeys = Math.max(maxKeys, s.startPos + s.rows);
    });
    if (rowSeq.some((x) => x < 0)) throw new Error('every step row must belong to a sequence slice');
    const tables = new Int32Array(seqs.length * maxBlocks);
    seqs.forEach((s, i) => tables.set(s.blockTable, i * maxBlocks));
    const keySlots: number[] = [];
    const keyBase = new Int32Array(Math.max(1, prefillRows));
    for (const s of seqs.filter((x) => x.mode === 'prefill')) {
      const base = keySlots.length;
      for (let r = 0; r < s.rows; r++) keyBase[s.rowStart + r] = base;
      for (let pos = 0; pos < s.startPos + s.rows; pos++) keySlots.push(slotOf(s, pos, blockSize));
    }
    this.prefillRows = prefillRows;
    this.maxKeys = maxKeys;
    this.maxBlocks = maxBlocks;
    this.rowPos = rowPos;
    this.prefillKeyCount = keySlots.length;
    this.tokens = alloc(input.tokens);
    this.cos = alloc(input.ropeCos);
    this.sin = alloc(input.ropeSin);
    this.rowSeqBuf = alloc(rowSeq);
    this.rowPosBuf = alloc(rowPos);
    this.slots = alloc(slots);
    this.tables = alloc(tables);
    this.prefillKeySlots = alloc(Int32Array.from(keySlots.length ? keySlots : [0]));
    this.prefillKeyBase = alloc(keyBase);
  }
}

function slotOf(s: SeqSlice, pos: number, blockSize: number): number {
  const block = s.blockTable[Math.floor(pos / blockSize)];
  if (block === undefined) throw new Error(`position ${pos} is beyond the sequence's block table (${s.blockTable.length} blocks)`);
  return block * blockSize + (pos % blockSize);
}
