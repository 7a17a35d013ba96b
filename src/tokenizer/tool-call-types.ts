// The data every tool-call format and the streaming parser exchange. Kept apart from
// tool-calls.ts so the formats (tool-format-*.ts) and the parser that picks among them both depend
// on these types without importing each other.

export type ToolCallFormatName = 'deepseek-v3' | 'deepseek-v31' | 'deepseek-v32';

export interface ToolCall {
  readonly id: string;
  readonly type: 'function';
  readonly function: { readonly name: string; readonly arguments: string };
}

/** One entry of `choices[].delta.tool_calls` in a chat.completion.chunk. */
export interface ToolCallDelta {
  readonly index: number;
  readonly id?: string;
  readonly type?: 'function';
  readonly function: { readonly name?: string; readonly arguments?: string };
}

export interface SnapshotCall {
  readonly name: string;
  /** Arguments text known so far; later snapshots only extend it. */
  readonly arguments: string;
}

export interface ToolCallSnapshot {
  /** Plain text before the tool-call block (minus anything that may still turn into a marker). */
  readonly content: string;
  /** Calls whose name is known, in order. */
  readonly calls: readonly SnapshotCall[];
}

export interface ToolCallFormat {
  readonly name: ToolCallFormatName;
  /**
   * What is certain after seeing `text`. `final` means no more text will come, so nothing is held
   * back. Contract: as `text` grows, `content` and every call's `arguments` only grow, and while
   * there are no calls, `content` is a prefix of `text`.
   */
  snapshot(text: string, final: boolean): ToolCallSnapshot;
}

export interface ParsedToolCalls {
  /** Text outside the tool-call block ('' when the model only called tools). */
  readonly content: string;
  readonly toolCalls: readonly ToolCall[];
}

export interface ToolStreamDelta {
  readonly content: string;
  readonly toolCalls: readonly ToolCallDelta[];
}

export type ToolCallIdFactory = () => string;
