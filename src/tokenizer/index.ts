// Text in/out for DeepSeek (V3, V3.1, V3.2-Exp, V3.2) and generic Hugging Face models.
//
// Request side:  loadTokenizer(dir) or createGgufTokenizer(file, metadata) -> createChatEncoder(loaded) -> encodeChat(...) -> prompt ids
// Output side, per generated token id:
//   StopTokenChecker (EOS / stop_token_ids)
//   -> IncrementalDecoder (UTF-8-safe text deltas)
//   -> StopStringMatcher (holds back possible stop-string prefixes)
//   -> ReasoningParser (reasoning vs content, started by RenderedPrompt.startsInReasoning)
//   -> ToolCallStreamParser on the content (OpenAI tool_call deltas)
export { ChatMessageError, ChatTemplateError, TokenizerError, TokenizerFileError } from './errors.js';
export type { TokenizerFileProblem } from './errors.js';
export { createTokenizer, loadTokenizer } from './tokenizer.js';
export type { DecodeOptions, EncodeOptions, LoadedTokenizer, Tokenizer } from './tokenizer.js';
export { createGgufTokenizer } from './gguf-tokenizer.js';
export type { GgufTokenizerOptions } from './gguf-tokenizer.js';
export { readModelFiles } from './model-files.js';
export type { ChatTemplateSource, GenerationDefaults, ModelFiles, ModelInfo, TokenizerSettings } from './model-files.js';
export { normalizeMessages, normalizeTools } from './messages.js';
export type {
  ChatContentPart, ChatMessage, ChatMessageInput, ChatRequest, ChatRole, ChatToolCallInput, NormalizedToolCall,
  ToolDefinition, ToolFunctionDefinition,
} from './messages.js';
export { chatEncodingSignals, createChatEncoder, detectChatEncoding, encodeChat } from './chat-encoding.js';
export type { ChatEncoder, ChatEncodingKind, ChatEncodingSignals, EncodedPrompt, RenderedPrompt } from './chat-encoding.js';
export { renderDeepSeekV31, renderV31Tools } from './encoding-dsv31.js';
export { renderDeepSeekV32, renderV32Tools } from './encoding-dsv32.js';
export { IncrementalDecoder } from './incremental-decoder.js';
export type { IncrementalDecoderOptions } from './incremental-decoder.js';
export { StopStringMatcher, StopTokenChecker } from './stop-conditions.js';
export type { StopStringOptions, StopStringResult, StopTokenOptions, TokenStopReason } from './stop-conditions.js';
export { ReasoningParser, splitReasoning } from './reasoning-parser.js';
export type { ReasoningDelta, ReasoningParserOptions } from './reasoning-parser.js';
export { detectToolCallFormat, getToolCallFormat, newToolCallId, parseToolCalls, ToolCallStreamParser } from './tool-calls.js';
export type {
  ParsedToolCalls, ToolCall, ToolCallDelta, ToolCallFormat, ToolCallFormatName, ToolCallIdFactory, ToolStreamDelta,
} from './tool-call-types.js';
export { pyJsonDumps } from './py-json.js';
