// A Hugging Face model directory as users download it: config.json plus model.safetensors, or
// sharded model-0000N-of-0000M.safetensors with model.safetensors.index.json.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ModelFormatError } from './errors.js';
import { SafetensorsFile } from './safetensors.js';
import type { TensorInfo } from './safetensors.js';
import type { TensorStore } from './tensor-store.js';

export interface HfDirectory {
  readonly dir: string;
  readonly configPath: string;
  /** config.json as parsed JSON (normalized later by the architecture's config reader). */
  readonly config: Record<string, unknown>;
  readonly tensors: TensorStore;
}

export function readJsonObject(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ModelFormatError(path, `cannot read: ${(e as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ModelFormatError(path, `not valid JSON: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ModelFormatError(path, 'expected a JSON object');
  }
  return value as Record<string, unknown>;
}

export function openHfDirectory(dir: string): HfDirectory {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new ModelFormatError(dir, 'model directory does not exist');
  }
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new ModelFormatError(dir, 'no config.json in the model directory');
  const config = readJsonObject(configPath);
  return { dir, configPath, config, tensors: openSafetensorsDirectory(dir) };
}

class ShardedSafetensors implements TensorStore {
  readonly source: string;
  private readonly files: SafetensorsFile[];
  private readonly byName = new Map<string, SafetensorsFile>();

  constructor(source: string, files: SafetensorsFile[], weightMap: Record<string, string> | null, indexPath: string | null) {
    this.source = source;
    this.files = files;
    const byPath = new Map(files.map((f) => [f.path, f]));
    for (const f of files) {
      for (const name of f.tensors.keys()) {
        if (this.byName.has(name)) {
          throw new ModelFormatError(f.path, `tensor also present in ${this.byName.get(name)!.path}`, { tensor: name });
        }
        this.byName.set(name, f);
      }
    }
    if (weightMap && indexPath) {
      for (const [name, file] of Object.entries(weightMap)) {
        const shard = byPath.get(join(source, file));
        if (!shard?.tensors.has(name)) {
          throw new ModelFormatError(indexPath, `weight_map places the tensor in ${file}, which does not hold it`, { tensor: name });
        }
      }
    }
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  info(name: string): TensorInfo {
    const f = this.byName.get(name);
    if (!f) throw new ModelFormatError(this.source, 'tensor missing from the model files', { tensor: name });
    return f.info(name);
  }

  read(name: string): Uint8Array {
    const f = this.byName.get(name);
    if (!f) throw new ModelFormatError(this.source, 'tensor missing from the model files', { tensor: name });
    return f.read(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  close(): void {
    for (const f of this.files) f.close();
  }
}

function openSafetensorsDirectory(dir: string): TensorStore {
  const indexPath = join(dir, 'model.safetensors.index.json');
  let shardNames: string[];
  let weightMap: Record<string, string> | null = null;
  if (existsSync(indexPath)) {
    const index = readJsonObject(indexPath);
    const map = index['weight_map'];
    if (typeof map !== 'object' || map === null || Array.isArray(map)) {
      throw new ModelFormatError(indexPath, '"weight_map" must be an object', { key: 'weight_map' });
    }
    weightMap = {};
    for (const [name, file] of Object.entries(map as Record<string, unknown>)) {
      if (typeof file !== 'string') throw new ModelFormatError(indexPath, 'shard file name must be a string', { key: `weight_map.${name}` });
      weightMap[name] = file;
    }
    shardNames = [...new Set(Object.values(weightMap))].sort();
    for (const s of shardNames) {
      if (!existsSync(join(dir, s))) throw new ModelFormatError(indexPath, `shard ${s} is listed but missing from ${dir}`);
    }
  } else {
    shardNames = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
    if (shardNames.length === 0) throw new ModelFormatError(dir, 'no *.safetensors files in the model directory');
  }
  const files: SafetensorsFile[] = [];
  try {
    for (const s of shardNames) files.push(SafetensorsFile.open(join(dir, s)));
    return new ShardedSafetensors(dir, files, weightMap, weightMap ? indexPath : null);
  } catch (e) {
    for (const f of files) f.close();
    throw e;
  }
}
