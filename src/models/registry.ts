// The one place that maps a checkpoint's model_type (Hugging Face) or general.architecture (GGUF)
// to an architecture.
import type { Backend } from '../ops/backend.js';
import { GgufError } from '../formats/gguf-errors.js';
import type { GgufModel } from '../formats/gguf-model.js';
import type { HfDirectory } from '../formats/hf-directory.js';
import { ModelFormatError } from '../formats/errors.js';
import { shardedTensors } from './tensor-shards.js';
import type { TensorStore } from '../formats/tensor-store.js';
import type { Architecture, ModelDescription, ModelOptions } from './architecture.js';
import { DEEPSEEK_ARCHITECTURE } from './deepseek.js';
import { GgufMetaReader } from './gguf-meta-reader.js';
import { LLAMA_ARCHITECTURE } from './llama.js';
import type { CausalLM } from './model.js';
import { mappedTensors } from './gguf-tensors.js';
import { CheckBinder, ManifestRecorder } from './weight-binder.js';
import type { ManifestEntry } from './weight-binder.js';

export type LoadOptions = ModelOptions;

/** An architecture with its config parsed; the config type stays inside. */
export interface BoundArchitecture {
  readonly config: unknown;
  /** every tensor the config implies (name, shape, role) */
  manifest(): ManifestEntry[];
  /** throws a ModelFormatError when `tensors` lacks a tensor the architecture binds or holds it in another shape */
  check(tensors: TensorStore): void;
  create(tensors: TensorStore, backend: Backend, options: ModelOptions): CausalLM;
  describe(options: ModelOptions): ModelDescription;
}

/** One tensor as its file stores it (for listings: GGUF types the backends cannot run are listed too). */
export interface FileTensor {
  readonly name: string;
  /** the file's dtype or GGUF type name */
  readonly dtype: string;
  readonly elements: number;
  readonly byteLength: number;
}

/** A model as users have it — a Hugging Face directory or a GGUF model — with its architecture. */
export interface OpenedModel {
  /** the directory or .gguf file */
  readonly path: string;
  readonly format: 'hf' | 'gguf';
  /** where config problems are reported: config.json, or the GGUF file */
  readonly configPath: string;
  /** config.json's model_type, or the GGUF file's general.architecture */
  readonly type: string;
  /** the Hugging Face directory (tokenizer files next to config.json), when that is the format */
  readonly hf: HfDirectory | null;
  /** the GGUF model (its metadata carries the tokenizer and chat template), when that is the format */
  readonly gguf: GgufModel | null;
  /** the file's own tensors, by the file's names */
  readonly fileTensors: TensorStore;
  /** every tensor of the file(s) */
  listing(): FileTensor[];
  readonly architecture: BoundArchitecture;
  /** tensors under the (Hugging Face) names the architecture binds; a GGUF file's are mapped */
  readonly tensors: TensorStore;
  close(): void;
}

function bind<C>(a: Architecture<C>, c: C, type: string): BoundArchitecture {
  return {
    config: c,
    manifest: () => {
      const recorder = new ManifestRecorder();
      a.bindWeights(c, recorder);
      return recorder.entries;
    },
    check: (tensors) => void a.bindWeights(c, new CheckBinder(tensors)),
    create: (tensors, backend, options) => {
      const missing = a.requiredOps(c).filter((op) => !backend.supportsOp(op));
      if (missing.length > 0) throw new Error(`the ${backend.name} backend lacks ops ${missing.join(', ')} that ${type} needs`);
      const comm = options.communicator;
      if (!comm || comm.size === 1) return a.create(c, tensors, backend, options);
      const plan = a.tensorParallel;
      if (!plan) throw new ModelFormatError(tensors.source, `${type} models cannot run tensor-parallel yet`, { key: 'model_type' });
      const part = { rank: comm.rank, size: comm.size, expertParallel: options.expertParallel ?? false };
      const shard = shardedTensors(tensors, part, (name) => plan.split(name, c, part));
      return a.create(plan.shardConfig(c, part, tensors.source), shard, backend, options);
    },
    describe: (options) => a.describe(c, options),
  };
}

const ARCHITECTURES: ReadonlyArray<Architecture<unknown>> = [DEEPSEEK_ARCHITECTURE, LLAMA_ARCHITECTURE];

export const SUPPORTED_MODEL_TYPES: readonly string[] = ARCHITECTURES.flatMap((a) => a.modelTypes);
export const SUPPORTED_GGUF_ARCHITECTURES: readonly string[] = ARCHITECTURES.flatMap((a) => a.gguf?.architectures ?? []);

/** The architecture of a config.json, its config parsed and validated (errors name file and key). */
export function architectureOf(file: string, raw: Record<string, unknown>): BoundArchitecture {
  const type = raw['model_type'];
  const a = ARCHITECTURES.find((x) => typeof type === 'string' && x.modelTypes.includes(type));
  if (!a) throw new ModelFormatError(file, `unknown model_type ${JSON.stringify(type)}; supported: ${SUPPORTED_MODEL_TYPES.join(', ')}`, { key: 'model_type' });
  return bind(a, a.parseConfig(file, raw), String(type));
}

/** A Hugging Face directory (from disk or over HTTP) with its architecture. */
export function fromHfDirectory(hf: HfDirectory): OpenedModel {
  const type = hf.config['model_type'];
  const architecture = architectureOf(hf.configPath, hf.config);
  const listing = () =>
    hf.tensors.names().map((name) => {
      const t = hf.tensors.info(name);
      return { name, dtype: t.dtype, elements: t.shape.reduce((a, b) => a * b, 1), byteLength: t.byteLength };
    });
  return { path: hf.dir, format: 'hf', configPath: hf.configPath, type: String(type), hf, gguf: null, fileTensors: hf.tensors, listing, architecture, tensors: hf.tensors, close: () => hf.tensors.close() };
}

/** A GGUF model with its architecture (closed again if the architecture refuses it). */
export function fromGgufModel(gguf: GgufModel): OpenedModel {
  try {
    const type = gguf.architecture;
    const a = ARCHITECTURES.find((x) => x.gguf?.architectures.includes(type));
    const g = a?.gguf;
    if (!a || !g) throw new GgufError('unsupported-type', gguf.path, `architecture ${JSON.stringify(type)} is not supported; supported: ${SUPPORTED_GGUF_ARCHITECTURES.join(', ')}`, { key: 'general.architecture' });
    const c = g.config(new GgufMetaReader(gguf.path, gguf.metadata, type), gguf.tensors);
    const tensors = mappedTensors(gguf.tensors, (hf) => g.tensorName(hf, c));
    const listing = () => gguf.shards.flatMap((f) => [...f.tensors.values()].map((t) => ({ name: t.name, dtype: t.type.name, elements: t.elements, byteLength: t.byteLength })));
    return { path: gguf.path, format: 'gguf', configPath: gguf.path, type, hf: null, gguf, fileTensors: gguf.tensors, listing, architecture: bind(a, c, type), tensors, close: () => { tensors.close(); gguf.close(); } };
  } catch (e) {
    gguf.close();
    throw e;
  }
}

/** Every tensor a config implies (name, shape, role), without a checkpoint: for writing random ones. */
export function modelManifest(configPath: string, config: Record<string, unknown>): ManifestEntry[] {
  return architectureOf(configPath, config).manifest();
}

export function loadModel(m: OpenedModel, backend: Backend, options: LoadOptions): CausalLM {
  return m.architecture.create(m.tensors, backend, { ...options, linearActivations: options.linearActivations ?? (m.format === 'gguf' ? 'ggml' : 'float') });
}
