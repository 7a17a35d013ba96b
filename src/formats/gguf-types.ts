// GGUF constants: the ggml tensor types (block size and bytes per block) and the metadata
// value types, with small constructors for typed metadata values.
// Reference: ggml/include/ggml.h (enum ggml_type), ggml/src/ggml-common.h (block layouts),
// ggml/include/gguf.h (enum gguf_type) and docs/gguf.md of llama.cpp.

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_DEFAULT_ALIGNMENT = 32;
export const GGUF_SUPPORTED_VERSIONS: readonly number[] = [2, 3];
export const GGUF_WRITE_VERSION = 3;
/** ggml keeps tensor names in a 64-byte field including the terminating NUL. */
export const GGML_MAX_NAME = 64;
export const GGML_MAX_DIMS = 4;

export type GgmlTypeName =
  | 'F32' | 'F16' | 'Q4_0' | 'Q4_1' | 'Q5_0' | 'Q5_1' | 'Q8_0' | 'Q8_1'
  | 'Q2_K' | 'Q3_K' | 'Q4_K' | 'Q5_K' | 'Q6_K' | 'Q8_K'
  | 'IQ2_XXS' | 'IQ2_XS' | 'IQ3_XXS' | 'IQ1_S' | 'IQ4_NL' | 'IQ3_S' | 'IQ2_S' | 'IQ4_XS'
  | 'I8' | 'I16' | 'I32' | 'I64' | 'F64' | 'IQ1_M' | 'BF16' | 'TQ1_0' | 'TQ2_0'
  | 'MXFP4' | 'NVFP4' | 'Q1_0' | 'Q2_0';

export interface GgmlTypeInfo {
  readonly name: GgmlTypeName;
  readonly id: number;
  /** Elements per block; a row's element count must be a multiple of it. */
  readonly blockSize: number;
  /** Bytes per block. */
  readonly blockBytes: number;
}

const QK_K = 256;
const HALF = 2;

// [name, id, elements per block, bytes per block]; sizes follow the static_asserts of ggml-common.h.
const TYPE_ROWS: ReadonlyArray<readonly [GgmlTypeName, number, number, number]> = [
  ['F32', 0, 1, 4],
  ['F16', 1, 1, 2],
  ['Q4_0', 2, 32, HALF + 16],
  ['Q4_1', 3, 32, 2 * HALF + 16],
  ['Q5_0', 6, 32, HALF + 4 + 16],
  ['Q5_1', 7, 32, 2 * HALF + 4 + 16],
  ['Q8_0', 8, 32, HALF + 32],
  ['Q8_1', 9, 32, 2 * HALF + 32],
  ['Q2_K', 10, QK_K, 2 * HALF + QK_K / 16 + QK_K / 4],
  ['Q3_K', 11, QK_K, HALF + QK_K / 4 + QK_K / 8 + 12],
  ['Q4_K', 12, QK_K, 2 * HALF + 12 + QK_K / 2],
  ['Q5_K', 13, QK_K, 2 * HALF + 12 + QK_K / 2 + QK_K / 8],
  ['Q6_K', 14, QK_K, HALF + QK_K / 16 + (3 * QK_K) / 4],
  ['Q8_K', 15, QK_K, 4 + QK_K + (QK_K / 16) * 2],
  ['IQ2_XXS', 16, QK_K, HALF + (QK_K / 8) * 2],
  ['IQ2_XS', 17, QK_K, HALF + (QK_K / 8) * 2 + QK_K / 32],
  ['IQ3_XXS', 18, QK_K, HALF + 3 * (QK_K / 8)],
  ['IQ1_S', 19, QK_K, HALF + QK_K / 8 + QK_K / 16],
  ['IQ4_NL', 20, 32, HALF + 16],
  ['IQ3_S', 21, QK_K, HALF + 13 * (QK_K / 32) + QK_K / 64],
  ['IQ2_S', 22, QK_K, HALF + QK_K / 4 + QK_K / 16],
  ['IQ4_XS', 23, QK_K, HALF + 2 + QK_K / 64 + QK_K / 2],
  ['I8', 24, 1, 1],
  ['I16', 25, 1, 2],
  ['I32', 26, 1, 4],
  ['I64', 27, 1, 8],
  ['F64', 28, 1, 8],
  ['IQ1_M', 29, QK_K, QK_K / 8 + QK_K / 16 + QK_K / 32],
  ['BF16', 30, 1, 2],
  ['TQ1_0', 34, QK_K, HALF + QK_K / 64 + (QK_K - (4 * QK_K) / 64) / 5],
  ['TQ2_0', 35, QK_K, HALF + QK_K / 4],
  ['MXFP4', 39, 32, 1 + 16],
  ['NVFP4', 40, 64, 64 / 16 + 32],
  ['Q1_0', 41, 128, HALF + 128 / 8],
  ['Q2_0', 42, 64, HALF + 64 / 4],
];

const BY_ID = new Map<number, GgmlTypeInfo>();
const BY_NAME = new Map<GgmlTypeName, GgmlTypeInfo>();
for (const [name, id, blockSize, blockBytes] of TYPE_ROWS) {
  const info: GgmlTypeInfo = Object.freeze({ name, id, blockSize, blockBytes });
  BY_ID.set(id, info);
  BY_NAME.set(name, info);
}

/** The ggml type with this numeric id, or undefined for ids this reader does not know. */
export function ggmlTypeById(id: number): GgmlTypeInfo | undefined {
  return BY_ID.get(id);
}

export function ggmlType(name: GgmlTypeName): GgmlTypeInfo {
  const t = BY_NAME.get(name);
  if (!t) throw new Error(`unknown ggml type name ${name}`);
  return t;
}

/** Bytes of a tensor of `type` with `elements` elements, or undefined if not a whole number of blocks. */
export function ggmlByteSize(type: GgmlTypeInfo, elements: number): number | undefined {
  if (elements % type.blockSize !== 0) return undefined;
  return (elements / type.blockSize) * type.blockBytes;
}

// ---- metadata values ----

/** Value type codes of GGUF metadata (enum gguf_type). */
export const GGUF_VALUE_TYPE = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12,
} as const;

export type GgufValueTypeName = keyof typeof GGUF_VALUE_TYPE;
export type GgufNumberTypeName = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'f64';
export type GgufBigIntTypeName = 'u64' | 'i64';

const NAME_BY_CODE = new Map<number, GgufValueTypeName>(
  (Object.entries(GGUF_VALUE_TYPE) as Array<[GgufValueTypeName, number]>).map(([k, v]) => [v, k]),
);

export function ggufValueTypeByCode(code: number): GgufValueTypeName | undefined {
  return NAME_BY_CODE.get(code);
}

/** Bytes of one element of a fixed-size value type. */
export const GGUF_SCALAR_BYTES: Readonly<Record<GgufNumberTypeName | GgufBigIntTypeName | 'bool', number>> = {
  u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, f64: 8, u64: 8, i64: 8, bool: 1,
};

export type GgufArrayValue =
  | { readonly type: 'array'; readonly itemType: GgufNumberTypeName; readonly value: readonly number[] }
  | { readonly type: 'array'; readonly itemType: GgufBigIntTypeName; readonly value: readonly bigint[] }
  | { readonly type: 'array'; readonly itemType: 'bool'; readonly value: readonly boolean[] }
  | { readonly type: 'array'; readonly itemType: 'string'; readonly value: readonly string[] }
  | { readonly type: 'array'; readonly itemType: 'array'; readonly value: readonly GgufArrayValue[] };

/** One typed metadata value; the type is kept so that a file can be rewritten unchanged. */
export type GgufValue =
  | { readonly type: GgufNumberTypeName; readonly value: number }
  | { readonly type: GgufBigIntTypeName; readonly value: bigint }
  | { readonly type: 'bool'; readonly value: boolean }
  | { readonly type: 'string'; readonly value: string }
  | GgufArrayValue;

/** Constructors for metadata values, e.g. `gv.u32(12)`, `gv.strings(['a', 'b'])`. */
export const gv = {
  u8: (value: number): GgufValue => ({ type: 'u8', value }),
  i8: (value: number): GgufValue => ({ type: 'i8', value }),
  u16: (value: number): GgufValue => ({ type: 'u16', value }),
  i16: (value: number): GgufValue => ({ type: 'i16', value }),
  u32: (value: number): GgufValue => ({ type: 'u32', value }),
  i32: (value: number): GgufValue => ({ type: 'i32', value }),
  f32: (value: number): GgufValue => ({ type: 'f32', value }),
  f64: (value: number): GgufValue => ({ type: 'f64', value }),
  u64: (value: bigint): GgufValue => ({ type: 'u64', value }),
  i64: (value: bigint): GgufValue => ({ type: 'i64', value }),
  bool: (value: boolean): GgufValue => ({ type: 'bool', value }),
  str: (value: string): GgufValue => ({ type: 'string', value }),
  numbers: (itemType: GgufNumberTypeName, value: readonly number[]): GgufArrayValue => ({ type: 'array', itemType, value }),
  bigints: (itemType: GgufBigIntTypeName, value: readonly bigint[]): GgufArrayValue => ({ type: 'array', itemType, value }),
  bools: (value: readonly boolean[]): GgufArrayValue => ({ type: 'array', itemType: 'bool', value }),
  strings: (value: readonly string[]): GgufArrayValue => ({ type: 'array', itemType: 'string', value }),
  arrays: (value: readonly GgufArrayValue[]): GgufArrayValue => ({ type: 'array', itemType: 'array', value }),
};
