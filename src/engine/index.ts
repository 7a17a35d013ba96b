// The engine's public surface: what a server or CLI needs to queue requests and read their tokens.
//
//   const engine = new LLMEngine(model, { kvCacheTokens: 65536, maxNumSeqs: 64 });
//   for await (const ev of engine.addRequest({ promptIds, sampling, maxTokens: 256 })) ...
export { LLMEngine } from './llm-engine.js';
export type { EngineStats, RequestHandle } from './llm-engine.js';
export type { EngineConfig, EngineOptions } from './engine-config.js';
export type { EngineEvent, FinishEvent, GenerateRequest, GenerateResult, TokenEvent, Usage } from './engine-request.js';
export {
  ContextLengthExceededError, EngineConfigError, EngineDeadError, EngineError, RequestTooLargeError, RequestValidationError,
} from './engine-errors.js';
export type { FinishReason } from './sequence.js';
export type { TokenConstraint } from './token-constraint.js';
export { normalizeSamplingParams, SamplingParamsError } from './sampler.js';
export type { SamplingParams, SamplingParamsInput, TokenLogprob } from './sampler.js';
