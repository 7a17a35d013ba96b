// Literal marker strings of the DeepSeek V3 family. The bars are fullwidth U+FF5C and the
// spaces are U+2581; an ASCII look-alike encodes to different tokens, so keep them in one place.

export const BOS = '<｜begin▁of▁sentence｜>';
export const EOS = '<｜end▁of▁sentence｜>';
export const USER = '<｜User｜>';
export const ASSISTANT = '<｜Assistant｜>';
export const THINK_START = '<think>';
export const THINK_END = '</think>';

// V3 / V3.1 tool calls.
export const TOOL_CALLS_BEGIN = '<｜tool▁calls▁begin｜>';
export const TOOL_CALLS_END = '<｜tool▁calls▁end｜>';
export const TOOL_CALL_BEGIN = '<｜tool▁call▁begin｜>';
export const TOOL_CALL_END = '<｜tool▁call▁end｜>';
export const TOOL_SEP = '<｜tool▁sep｜>';
export const TOOL_OUTPUT_BEGIN = '<｜tool▁output▁begin｜>';
export const TOOL_OUTPUT_END = '<｜tool▁output▁end｜>';

// V3.2 DSML tool calls. "｜DSML｜" is plain text to the tokenizer, not an added token.
export const DSML = '｜DSML｜';
export const DSML_CALLS_BEGIN = `<${DSML}function_calls>`;
export const DSML_CALLS_END = `</${DSML}function_calls>`;
export const DSML_INVOKE_OPEN = `<${DSML}invoke`;
export const DSML_INVOKE_END = `</${DSML}invoke>`;
export const DSML_PARAM_OPEN = `<${DSML}parameter`;
export const DSML_PARAM_END = `</${DSML}parameter>`;
