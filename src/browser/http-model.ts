// A Hugging Face model directory over HTTP: config.json, then the safetensors headers by byte
// range, then every tensor's bytes prefetched into memory (TensorStore.read is synchronous, and a
// browser cannot block on the network), one range request per shard.
import { ModelFormatError } from '../formats/errors.js';
import type { HfDirectory } from '../formats/hf-directory.js';
import type { TensorInfo } from '../formats/safetensors.js';
import type { TensorStore } from '../formats/tensor-store.js';
import { HttpFiles } from './http-fetch.js';
import type { FetchFn } from './http-fetch.js';
import { headerLength, parseSafetensorsHeader } from '../formats/safetensors-header.js';

export interface LoadProgress {
  readonly loadedBytes: number;
  readonly totalBytes: number;
}

export interface HttpModelOptions {
  readonly fetch?: FetchFn;
  readonly onProgress?: (p: LoadProgress) => void;
}

interface Shard {
  readonly url: string;
  readonly tensors: Map<string, TensorInfo>;
  /** bytes [dataStart, dataEnd) of the file */
  readonly dataStart: number;
  readonly dataEnd: number;
  data: Uint8Array | null;
}

class PrefetchedTensors implements TensorStore {
  private readonly byName = new Map<string, Shard>();

  constructor(
    readonly source: string,
    private readonly shards: readonly Shard[],
  ) {
    for (const s of shards) {
      for (const name of s.tensors.keys()) {
        if (this.byName.has(name)) throw new ModelFormatError(s.url, `tensor also present in ${this.byName.get(name)!.url}`, { tensor: name });
        this.byName.set(name, s);
      }
    }
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  info(name: string): TensorInfo {
    const s = this.byName.get(name);
    if (!s) throw new ModelFormatError(this.source, 'tensor missing from the model files', { tensor: name });
    return s.tensors.get(name)!;
  }

  read(name: string): Uint8Array {
    const t = this.info(name);
    const s = this.byName.get(name)!;
    if (!s.data) throw new ModelFormatError(s.url, 'model was closed', { tensor: name });
    return s.data.subarray(t.offset - s.dataStart, t.offset - s.dataStart + t.byteLength);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  close(): void {
    for (const s of this.shards) s.data = null;
  }
}

function join(base: string, file: string): string {
  return base.endsWith('/') ? base + file : `${base}/${file}`;
}

async function shardNames(files: HttpFiles, base: string): Promise<string[]> {
  const indexUrl = join(base, 'model.safetensors.index.json');
  const index = await files.json(indexUrl, false);
  if (!index) return ['model.safetensors'];
  const map = index['weight_map'];
  if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new ModelFormatError(indexUrl, '"weight_map" must be an object', { key: 'weight_map' });
  const names = new Set<string>();
  for (const [name, file] of Object.entries(map as Record<string, unknown>)) {
    if (typeof file !== 'string') throw new ModelFormatError(indexUrl, 'shard file name must be a string', { key: `weight_map.${name}` });
    names.add(file);
  }
  return [...names].sort();
}

async function openShard(files: HttpFiles, url: string): Promise<Shard> {
  const len = headerLength(url, await files.range(url, 0, 8), null);
  const { tensors } = parseSafetensorsHeader(url, await files.range(url, 8, 8 + len), null);
  const dataStart = 8 + len;
  let dataEnd = dataStart;
  for (const t of tensors.values()) dataEnd = Math.max(dataEnd, t.offset + t.byteLength);
  return { url, tensors, dataStart, dataEnd, data: null };
}

/** Opens `baseUrl` (a directory URL) and downloads its weights; resolves when all are in memory. */
export async function openHttpModel(baseUrl: string, options: HttpModelOptions = {}): Promise<HfDirectory> {
  const files = new HttpFiles(options.fetch);
  const configPath = join(baseUrl, 'config.json');
  const config = (await files.json(configPath, true))!;
  const shards = await Promise.all((await shardNames(files, baseUrl)).map((name) => openShard(files, join(baseUrl, name))));
  const totalBytes = shards.reduce((n, s) => n + s.dataEnd - s.dataStart, 0);
  let loadedBytes = 0;
  const onBytes = options.onProgress
    ? (n: number) => {
        loadedBytes += n;
        options.onProgress!({ loadedBytes, totalBytes });
      }
    : undefined;
  await Promise.all(
    shards.map(async (s) => {
      s.data = await files.range(s.url, s.dataStart, s.dataEnd, onBytes);
    }),
  );
  return { dir: baseUrl, configPath, config, tensors: new PrefetchedTensors(baseUrl, shards) };
}
