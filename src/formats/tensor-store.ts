// A model's tensors by name, whatever files they are spread over.
import type { TensorInfo } from './safetensors.js';

export interface TensorStore {
  /** Where the tensors come from (a directory or file), for messages. */
  readonly source: string;
  has(name: string): boolean;
  /** Throws a ModelFormatError naming the source and tensor when it is missing. */
  info(name: string): TensorInfo;
  /** Raw little-endian bytes of one tensor, read from its file on demand. */
  read(name: string): Uint8Array;
  /** `byteLength` bytes starting `byteStart` bytes into the tensor's data (stores of files with stacked tensors). */
  readRange?(name: string, byteStart: number, byteLength: number): Uint8Array;
  names(): string[];
  /** The name the file itself uses for a tensor, for messages (when the store renames them). */
  fileName?(name: string): string;
  close(): void;
}
