// The GGUF side of the text layer's model paths: a `.gguf` path that is not a directory, and its
// metadata read from the header alone (the tensors stay on disk) for tokenizer-only commands.
import { statSync } from 'node:fs';
import { GgufFile } from '../formats/gguf.js';
import type { GgufValue } from '../formats/gguf.js';
import { shardPaths } from '../formats/gguf-model.js';
import { isGgufPath } from '../models/open-model.js';

/** Whether `path` names a GGUF model (openModel's rule: directories are Hugging Face checkpoints). */
export function isGgufFile(path: string): boolean {
  if (!isGgufPath(path)) return false;
  try {
    return !statSync(path).isDirectory();
  } catch {
    return true; // missing: reported by opening it, which names the file
  }
}

/** Metadata of a GGUF file or split set (the first shard holds it); GgufError names the file. */
export function readGgufMetadata(path: string): ReadonlyMap<string, GgufValue> {
  const file = GgufFile.open(shardPaths(path)[0] ?? path);
  try {
    return file.metadata;
  } finally {
    file.close();
  }
}
