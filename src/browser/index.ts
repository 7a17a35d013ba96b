// The browser build of Tessera (bundled by scripts/build-browser.mjs; no Node APIs): a model
// directory loaded over HTTP, run by the device backend on a WebGPU device from navigator.gpu.
import { WebGpuBackend } from '../backends/webgpu/webgpu-backend.js';
import { WebGpuDevice } from '../backends/webgpu/webgpu-device.js';
import { fromHfDirectory, loadModel } from '../models/registry.js';
import type { CausalLM } from '../models/model.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { IncrementalDecoder } from '../tokenizer/incremental-decoder.js';
import { openBrowserWebGpu } from './browser-gpu.js';
import { openHttpModel } from './http-model.js';
import type { LoadProgress } from './http-model.js';
import { loadHttpTokenizer, loadHttpTokenizerFiles } from './http-tokenizer.js';
import { createChatEncoder, encodeChat } from '../tokenizer/chat-encoding.js';
import type { ChatEncoder } from '../tokenizer/chat-encoding.js';
import { generate } from './generate.js';
import type { GenerateOptions, GenerateResult } from './generate.js';

export { generate, openBrowserWebGpu, openHttpModel, loadHttpTokenizer, IncrementalDecoder, encodeChat };
export type { GenerateOptions, GenerateResult, LoadProgress };

export interface TesseraSession {
  readonly model: CausalLM;
  /** null when the directory has no tokenizer.json: prompts are then token ids */
  readonly tokenizer: Tokenizer | null;
  /** the model's chat encoding (its template, or DeepSeek's format); null when it has none */
  readonly chat: ChatEncoder | null;
  /** the WebGPU adapter, in words */
  readonly adapter: string;
  dispose(): void;
}

export interface LoadOptions {
  readonly onProgress?: (p: LoadProgress) => void;
  /** FP8 checkpoints: quantize activations as DeepSeek's kernels do (default) or not */
  readonly fp8Activations?: 'quant' | 'none';
}

/** Downloads the model at `modelUrl` (a Hugging Face directory) and puts it on the GPU. */
export async function loadTessera(modelUrl: string, options: LoadOptions = {}): Promise<TesseraSession> {
  const ctx = await openBrowserWebGpu();
  try {
    const [dir, loaded] = await Promise.all([openHttpModel(modelUrl, options.onProgress ? { onProgress: options.onProgress } : {}), loadHttpTokenizerFiles(modelUrl)]);
    const model = loadModel(fromHfDirectory(dir), new WebGpuBackend(new WebGpuDevice(ctx)), { fp8Activations: options.fp8Activations ?? 'quant' });
    return {
      model,
      tokenizer: loaded?.tokenizer ?? null,
      chat: loaded ? chatEncoderOrNull(loaded) : null,
      adapter: ctx.adapterName,
      dispose: () => {
        model.dispose();
        dir.tensors.close();
      },
    };
  } catch (e) {
    ctx.close();
    throw e;
  }
}

function chatEncoderOrNull(loaded: Parameters<typeof createChatEncoder>[0]): ChatEncoder | null {
  try {
    return createChatEncoder(loaded);
  } catch {
    // no chat template and not a DeepSeek release: the session serves completions only
    return null;
  }
}
