// The one place that maps a checkpoint's model_type to an architecture.
import type { Backend } from '../backends/backend.js';
import { ModelFormatError } from '../formats/errors.js';
import type { HfDirectory } from '../formats/hf-directory.js';
import { DEEPSEEK_MODEL_TYPES, parseDeepseekConfig } from './deepseek-config.js';
import { DeepseekModel } from './deepseek.js';
import type { DeepseekOptions } from './deepseek.js';
import type { CausalLM } from './model.js';

export type LoadOptions = DeepseekOptions;

export const SUPPORTED_MODEL_TYPES: readonly string[] = [...DEEPSEEK_MODEL_TYPES];

export function loadModel(dir: HfDirectory, backend: Backend, options: LoadOptions): CausalLM {
  const type = dir.config['model_type'];
  if (typeof type === 'string' && (DEEPSEEK_MODEL_TYPES as readonly string[]).includes(type)) {
    return new DeepseekModel(parseDeepseekConfig(dir.configPath, dir.config), dir.tensors, backend, options);
  }
  throw new ModelFormatError(dir.configPath, `unknown model_type ${JSON.stringify(type)}; supported: ${SUPPORTED_MODEL_TYPES.join(', ')}`, { key: 'model_type' });
}
