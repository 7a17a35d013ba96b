// The one place that maps a checkpoint's model_type to an architecture.
import type { Backend } from '../ops/backend.js';
import { ModelFormatError } from '../formats/errors.js';
import type { HfDirectory } from '../formats/hf-directory.js';
import { DEEPSEEK_MODEL_TYPES, parseDeepseekConfig } from './deepseek-config.js';
import { DeepseekModel } from './deepseek.js';
import type { DeepseekOptions } from './deepseek.js';
import type { CausalLM } from './model.js';
import { bindDeepseekWeights } from './deepseek-weights.js';
import { ManifestRecorder } from './weight-binder.js';
import type { ManifestEntry } from './weight-binder.js';

export type LoadOptions = DeepseekOptions;

export const SUPPORTED_MODEL_TYPES: readonly string[] = [...DEEPSEEK_MODEL_TYPES];

function unknownType(configPath: string, type: unknown): never {
  throw new ModelFormatError(configPath, `unknown model_type ${JSON.stringify(type)}; supported: ${SUPPORTED_MODEL_TYPES.join(', ')}`, { key: 'model_type' });
}

/** Every tensor a config implies (name, shape, role), without a checkpoint: for writing random ones. */
export function modelManifest(configPath: string, config: Record<string, unknown>): ManifestEntry[] {
  const type = config['model_type'];
  const recorder = new ManifestRecorder();
  if (typeof type === 'string' && (DEEPSEEK_MODEL_TYPES as readonly string[]).includes(type)) {
    bindDeepseekWeights(parseDeepseekConfig(configPath, config), recorder);
    return recorder.entries;
  }
  return unknownType(configPath, type);
}

export function loadModel(dir: HfDirectory, backend: Backend, options: LoadOptions): CausalLM {
  const type = dir.config['model_type'];
  if (typeof type === 'string' && (DEEPSEEK_MODEL_TYPES as readonly string[]).includes(type)) {
    return new DeepseekModel(parseDeepseekConfig(dir.configPath, dir.config), dir.tensors, backend, options);
  }
  return unknownType(dir.configPath, type);
}
