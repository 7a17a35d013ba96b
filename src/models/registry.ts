// The one place that maps a checkpoint's model_type to an architecture.
import type { Backend } from '../ops/backend.js';
import { ModelFormatError } from '../formats/errors.js';
import type { HfDirectory } from '../formats/hf-directory.js';
import type { Architecture, ModelDescription, ModelOptions } from './architecture.js';
import { DEEPSEEK_ARCHITECTURE } from './deepseek.js';
import { LLAMA_ARCHITECTURE } from './llama.js';
import type { CausalLM } from './model.js';
import { ManifestRecorder } from './weight-binder.js';
import type { ManifestEntry } from './weight-binder.js';

export type LoadOptions = ModelOptions;

/** An architecture with its config type hidden: every use goes through one parsed config. */
interface Bound {
  readonly config: unknown;
  manifest(): ManifestEntry[];
  load(dir: HfDirectory, backend: Backend, options: ModelOptions): CausalLM;
  describe(options: ModelOptions): ModelDescription;
}

function bind<C>(a: Architecture<C>, file: string, raw: Record<string, unknown>): Bound {
  const c = a.parseConfig(file, raw);
  return {
    config: c,
    manifest: () => {
      const recorder = new ManifestRecorder();
      a.bindWeights(c, recorder);
      return recorder.entries;
    },
    load: (dir, backend, options) => {
      const missing = a.requiredOps(c).filter((op) => !backend.supportsOp(op));
      if (missing.length > 0) throw new Error(`the ${backend.name} backend lacks ops ${missing.join(', ')} that ${String(raw['model_type'])} needs`);
      return a.create(c, dir.tensors, backend, options);
    },
    describe: (options) => a.describe(c, options),
  };
}

const ARCHITECTURES: ReadonlyArray<Architecture<unknown>> = [DEEPSEEK_ARCHITECTURE, LLAMA_ARCHITECTURE];

export const SUPPORTED_MODEL_TYPES: readonly string[] = ARCHITECTURES.flatMap((a) => a.modelTypes);

/** The architecture of a config.json, its config parsed and validated (errors name file and key). */
export function architectureOf(file: string, raw: Record<string, unknown>): Bound {
  const type = raw['model_type'];
  const a = ARCHITECTURES.find((x) => typeof type === 'string' && x.modelTypes.includes(type));
  if (!a) throw new ModelFormatError(file, `unknown model_type ${JSON.stringify(type)}; supported: ${SUPPORTED_MODEL_TYPES.join(', ')}`, { key: 'model_type' });
  return bind(a, file, raw);
}

/** Every tensor a config implies (name, shape, role), without a checkpoint: for writing random ones. */
export function modelManifest(configPath: string, config: Record<string, unknown>): ManifestEntry[] {
  return architectureOf(configPath, config).manifest();
}

export function loadModel(dir: HfDirectory, backend: Backend, options: LoadOptions): CausalLM {
  return architectureOf(dir.configPath, dir.config).load(dir, backend, options);
}
