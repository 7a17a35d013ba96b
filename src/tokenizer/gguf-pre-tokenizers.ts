// llama.cpp's BPE pre-tokenizers by their GGUF name (`tokenizer.ggml.pre`), as src/llama-vocab.cpp
// defines them (llm_tokenizer_bpe and llama_vocab::impl::load, at the release node-llama-cpp
// 3.21.1 bundles). llama.cpp applies the regexes in order, each one splitting the pieces the
// previous left and keeping both matches and the text between them — what a Hugging Face
// `Sequence` of `Split` pre-tokenizers with behavior "Isolated" does. The patterns are llama.cpp's
// own spellings (its "adapted" forms, without the `(?i:...)` groups JavaScript lacks), so the
// ids equal llama.cpp's rather than those of the tokenizer.json the GGUF was converted from.

export interface PreTokenizerSpec {
  /** Split regexes, applied in order. */
  readonly regexes: readonly string[];
  /** A pre-token that is itself a vocabulary entry is taken whole, skipping the merges (Llama 3). */
  readonly ignoreMerges: boolean;
  /** llama.cpp's add_bos default for this name, used when tokenizer.ggml.add_bos_token is absent. */
  readonly addBos: boolean;
}

const GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
const CONTRACTIONS = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
const LLAMA3 = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const QWEN2 = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const QWEN35 = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;

const DEFAULT_REGEXES = ['[\\p{P}\\$\\+<=>\\^~\\|]+', GPT2, '\\p{N}+', '[0-9][0-9][0-9]'];

const DEEPSEEK_LLM = [
  '[\r\n]',
  // written as escapes: these ranges include characters that editors NFC-normalize to others
  '\\s?[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293\u0295-\u02AF\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-\u10C5\u13A0-\u13F5\u13F8-\u13FD\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-\u1FFC\u2102\u2107\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D\u212F-\u2134\u2139\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE\u2CF2\u2CF3\uA640-\uA66D\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-\uABBF\uFB00-\uFB06\uFB13-\uFB17\uFF21-\uFF3A\uFF41-\uFF5A\u{10400}-\u{1044F}\u{104B0}-\u{104D3}\u{104D8}-\u{104FB}\u{10C80}-\u{10CB2}\u{10CC0}-\u{10CF2}\u{118A0}-\u{118DF}\u{1E900}-\u{1E943}]+',
  '\\s?[!-/:-~！-／：-～‘-‟　-。]+',
  '\\s+$',
  '[一-龥ࠀ-一가-퟿]+',
  '\\p{N}+',
];

const DEEPSEEK_CODER = ['[\r\n]', '\\s?\\p{L}+', '\\s?\\p{P}+', '[一-龥ࠀ-一가-퟿]+', '\\p{N}'];

const DEEPSEEK_V3 = [
  '\\p{N}{1,3}',
  '[一-龥぀-ゟ゠-ヿ]+',
  "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
];

const FALCON = ['[\\p{P}\\$\\+<=>\\^~\\|`]+', GPT2, '[0-9][0-9][0-9]'];
const STARCODER = ['\\p{N}', GPT2];

const spec = (regexes: readonly string[], flags: Partial<Omit<PreTokenizerSpec, 'regexes'>> = {}): PreTokenizerSpec =>
  Object.freeze({ regexes, ignoreMerges: flags.ignoreMerges ?? false, addBos: flags.addBos ?? false });

export const DEFAULT_PRE_TOKENIZER: PreTokenizerSpec = spec(DEFAULT_REGEXES);

const TABLE: ReadonlyArray<readonly [readonly string[], PreTokenizerSpec]> = [
  [['default'], DEFAULT_PRE_TOKENIZER],
  [['llama3', 'llama-v3', 'llama-bpe', 'falcon3', 'falcon-h1', 'pixtral', 'midm-2.0', 'lfm2', 'jina-v5-nano'], spec([LLAMA3], { ignoreMerges: true, addBos: true })],
  [['dbrx', 'smaug-bpe'], spec([LLAMA3])],
  [['qwen2', 'deepseek-r1-qwen', 'kormo', 'f2llmv2', 'stablelm2'], spec([QWEN2])],
  [['qwen35'], spec([QWEN35])],
  [['deepseek-llm'], spec(DEEPSEEK_LLM)],
  [['deepseek-coder'], spec(DEEPSEEK_CODER)],
  [['deepseek-v3'], spec(DEEPSEEK_V3)],
  [['gpt-2', 'phi-2', 'jina-es', 'jina-de', 'gigachat', 'jina-v2-es', 'jina-v2-de', 'a.x-4.0', 'mellum', 'modern-bert', 'mpt', 'olmo', 'jais', 'exaone4'], spec([GPT2])],
  [['falcon'], spec(FALCON)],
  [['starcoder', 'refact', 'command-r', 'smollm', 'codeshell', 'exaone'], spec(STARCODER)],
];

const BY_NAME: ReadonlyMap<string, PreTokenizerSpec> = new Map(TABLE.flatMap(([names, s]) => names.map((n) => [n, s] as const)));

/** The pre-tokenizer llama.cpp uses for `name`, or undefined when Tessera does not know it. */
export function preTokenizerFor(name: string): PreTokenizerSpec | undefined {
  return BY_NAME.get(name);
}

export const KNOWN_PRE_TOKENIZERS: readonly string[] = [...BY_NAME.keys()];
