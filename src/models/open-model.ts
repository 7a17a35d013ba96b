// Opening a model by path — a Hugging Face directory or a GGUF file (or split set) — with its
// architecture found and its config normalized. Node only (file system); the browser opens
// directories over HTTP and hands them to the registry itself.
import { statSync } from 'node:fs';
import { openGgufModel } from '../formats/gguf-model.js';
import { openHfDirectory } from '../formats/hf-directory.js';
import { ModelFormatError } from '../formats/errors.js';
import { fromGgufModel, fromHfDirectory } from './registry.js';
import type { OpenedModel } from './registry.js';

export function isGgufPath(path: string): boolean {
  return /\.gguf$/i.test(path);
}

/** Opens `path`: a directory is a Hugging Face checkpoint, a `.gguf` file a GGUF model. */
export function openModel(path: string): OpenedModel {
  let dir = false;
  try {
    dir = statSync(path).isDirectory();
  } catch (e) {
    throw new ModelFormatError(path, `cannot open the model: ${(e as Error).message}`);
  }
  if (dir) return fromHfDirectory(openHfDirectory(path));
  if (!isGgufPath(path)) throw new ModelFormatError(path, 'not a model: give a Hugging Face directory (config.json + safetensors) or a .gguf file');
  return fromGgufModel(openGgufModel(path));
}
