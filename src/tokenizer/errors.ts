// Typed errors for the tokenizer layer. Each carries the exact thing a user has to fix:
// the file and key for configuration problems, the message index and field for chat input.

/** Base class so callers can catch every tokenizer-layer failure with one `instanceof`. */
export class TokenizerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export type TokenizerFileProblem = 'missing' | 'unreadable' | 'invalid-json' | 'invalid-value' | 'unsupported';

/** A model-directory file (tokenizer.json, tokenizer_config.json, ...) is missing or wrong. */
export class TokenizerFileError extends TokenizerError {
  readonly path: string;
  readonly problem: TokenizerFileProblem;
  /** JSON key (dotted) that is wrong, when the problem is one value rather than the whole file. */
  readonly key: string | undefined;

  constructor(path: string, problem: TokenizerFileProblem, detail: string, key?: string, cause?: unknown) {
    const where = key === undefined ? path : `${path} (key "${key}")`;
    super(`${where}: ${detail}`, { cause });
    this.path = path;
    this.problem = problem;
    this.key = key;
  }
}

/** The chat template could not be found, parsed or rendered. */
export class ChatTemplateError extends TokenizerError {
  /** Where the template came from, e.g. `/models/x/tokenizer_config.json#chat_template`. */
  readonly source: string;

  constructor(source: string, detail: string, cause?: unknown) {
    super(`chat template ${source}: ${detail}`, { cause });
    this.source = source;
  }
}

/** A chat message (OpenAI shape) is malformed or not representable in the chosen encoding. */
export class ChatMessageError extends TokenizerError {
  /** Index into `messages`, or -1 for request-level fields such as `tools`. */
  readonly index: number;
  /** JSON path of the bad field relative to the request, e.g. `messages[2].tool_calls[0].function.arguments`. */
  readonly field: string;

  constructor(index: number, field: string, detail: string) {
    super(`${field}: ${detail}`);
    this.index = index;
    this.field = field;
  }
}
