// Typed errors of the GGUF reader and writer. Every message names the file, and the tensor or
// metadata key when there is one, so that a user can tell which file is broken and where.

export type GgufErrorCode =
  | 'io' // the file cannot be opened, read or written
  | 'truncated' // the file ends before a structure it announces
  | 'bad-magic' // not a GGUF file
  | 'unsupported-version'
  | 'bad-value' // malformed metadata: unknown value type, bad length, duplicate key, wrong key type
  | 'bad-alignment'
  | 'bad-tensor-info' // name too long or duplicated, bad rank or dimension, row not a multiple of the block
  | 'unknown-ggml-type'
  | 'offset-out-of-range' // tensor data outside the file or not aligned
  | 'tensor-not-found'
  | 'unsupported-type' // the operation is not implemented for this ggml type (e.g. dequantizing Q4_K)
  | 'writer-misuse'; // the writer was given data that does not match the declared tensors

export class GgufError extends Error {
  readonly code: GgufErrorCode;
  readonly file: string;
  readonly tensor: string | undefined;
  readonly key: string | undefined;

  constructor(code: GgufErrorCode, file: string, problem: string, where: { tensor?: string; key?: string } = {}) {
    const loc =
      where.tensor !== undefined ? `tensor "${where.tensor}": ` : where.key !== undefined ? `key "${where.key}": ` : '';
    super(`${file}: ${loc}${problem}`);
    this.name = 'GgufError';
    this.code = code;
    this.file = file;
    this.tensor = where.tensor;
    this.key = where.key;
  }
}
