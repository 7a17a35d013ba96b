// The text layer shared by `tessera run`, `tessera chat` and the server:
//
//   const tm = await loadTextModel(dir, { device: 'cpu' });          // tokenizer + weights + engine
//   const prompt = buildChatPrompt(tm, { messages, tools, thinking }); // ids + how to read the answer
//   for await (const ev of generateText(tm, { promptIds: prompt.ids, sampling, stop, reasoning: ... }))
//     ev.type === 'delta' ? show(ev.delta.content, ev.delta.reasoning, ev.delta.toolCalls) : done(ev)
export { buildChatPrompt, ChatPromptError } from './chat-prompt.js';
export type { ChatPrompt, ChatPromptInput, ToolChoice } from './chat-prompt.js';
export { ExclusiveModel } from './exclusive-model.js';
export { generateText } from './generate.js';
export type {
  DeltaEvent, GeneratedToken, GenerationContext, TextEvent, TextFinishEvent, TextFinishReason, TextRequest, TextStream,
} from './generate.js';
export { EMPTY_DELTA, isEmptyDelta, mergeDeltas, OutputProcessor } from './output-processor.js';
export type { OutputOptions, TextDelta } from './output-processor.js';
export { AbortedError, scorePrompt } from './prompt-logprobs.js';
export type { PromptTokenLogprob } from './prompt-logprobs.js';
export { createTextModel, followTextModel, loadTextModel, loadTextTokenizer, ModelDirError, textTokenizerFrom } from './text-model.js';
export type { LoadProgress, TextEngineOptions, TextModel, TextModelOptions, TextTokenizer, TextTokenizerOptions } from './text-model.js';
export { TokenTexts } from './token-bytes.js';
export type { TokenText } from './token-bytes.js';
