"""Byte-level BPE: trainer, encoder and a Hugging Face tokenizer.json writer.

The pre-tokenizer is DeepSeek-V3's (tokenizer.json of deepseek-ai/DeepSeek-V3.x): three regex
splits (digits in groups of up to 3, CJK runs, then words / punctuation / whitespace) followed by
GPT-2's byte-to-unicode mapping (ByteLevel without its own regex). Ids: 0-2 BOS/EOS/pad as in
DeepSeek, then the 256 byte symbols, then merges, then the added chat tokens at the end.
"""
import heapq
import json
from collections import Counter, defaultdict

import regex

BOS, EOS, PAD = '<｜begin▁of▁sentence｜>', '<｜end▁of▁sentence｜>', '<｜▁pad▁｜>'
ADDED = ['<｜User｜>', '<｜Assistant｜>', '<think>', '</think>']  # chat markers, not special (as DeepSeek)

SPLITS = [
    r'\p{N}{1,3}',
    '[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+',
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
]
_SPLIT_RE = [regex.compile(p) for p in SPLITS]


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map (in GPT-2's order)."""
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


BYTE_MAP = bytes_to_unicode()


def pre_tokenize(text: str) -> list[str]:
    """Text -> byte-level pieces (each split 'Isolated': matches and the gaps between them)."""
    pieces = [text]
    for rx in _SPLIT_RE:
        out = []
        for p in pieces:
            pos = 0
            for m in rx.finditer(p):
                if m.start() > pos:
                    out.append(p[pos:m.start()])
                if m.end() > m.start():
                    out.append(m.group())
                pos = m.end()
            if pos < len(p):
                out.append(p[pos:])
        pieces = out
    return [''.join(BYTE_MAP[b] for b in p.encode('utf-8')) for p in pieces]


def train_bpe(texts, vocab_size: int) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Most frequent pair first, ties by the lexicographically smallest pair (deterministic)."""
    counts = Counter()
    for t in texts:
        counts.update(pre_tokenize(t))
    words = [list(w) for w in counts]
    freq = list(counts.values())
    base = [BOS, EOS, PAD] + list(BYTE_MAP.values())
    n_merges = vocab_size - len(base) - len(ADDED)
    pairs = Counter()
    where = defaultdict(set)
    for i, w in enumerate(words):
        for a, b in zip(w, w[1:]):
            pairs[a, b] += freq[i]
            where[a, b].add(i)
    heap = [(-c, p) for p, c in pairs.items()]
    heapq.heapify(heap)
    merges = []
    while len(merges) < n_merges and heap:
        c, pair = heapq.heappop(heap)
        if pairs.get(pair, 0) != -c or c == 0:
            continue  # stale entry
        merges.append(pair)
        new = pair[0] + pair[1]
        for i in list(where[pair]):
            w = words[i]
            touched = set()
            for a, b in zip(w, w[1:]):  # remove this word's old pairs
                pairs[a, b] -= freq[i]
                where[a, b].discard(i)
                touched.add((a, b))
            j, out = 0, []
            while j < len(w):
                if j + 1 < len(w) and w[j] == pair[0] and w[j + 1] == pair[1]:
                    out.append(new)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            words[i] = out
            for a, b in zip(out, out[1:]):
                pairs[a, b] += freq[i]
                where[a, b].add(i)
                touched.add((a, b))
            for p in touched - {pair}:  # re-queue every changed count; older entries become stale
                if pairs[p] > 0:
                    heapq.heappush(heap, (-pairs[p], p))
        del pairs[pair]
    vocab = {tok: i for i, tok in enumerate(base)}
    for a, b in merges:
        vocab[a + b] = len(vocab)
    return vocab, merges


class Encoder:
    def __init__(self, vocab: dict[str, int], merges: list[tuple[str, str]]):
        self.vocab = vocab
        self.ranks = {p: i for i, p in enumerate(merges)}
        self.cache: dict[str, list[int]] = {}

    def _bpe(self, piece: str) -> list[int]:
        w = list(piece)
        while len(w) > 1:
            best = min(range(len(w) - 1), key=lambda j: self.ranks.get((w[j], w[j + 1]), 1 << 30))
            if (w[best], w[best + 1]) not in self.ranks:
                break
            w[best:best + 2] = [w[best] + w[best + 1]]
        return [self.vocab[s] for s in w]

    def encode(self, text: str) -> list[int]:
        ids = []
        for p in pre_tokenize(text):
            if p not in self.cache:
                self.cache[p] = self._bpe(p)
            ids += self.cache[p]
        return ids


def tokenizer_json(vocab: dict[str, int], merges: list[tuple[str, str]]) -> dict:
    def added(i, content, special):
        return {'id': i, 'content': content, 'single_word': False, 'lstrip': False, 'rstrip': False, 'normalized': not special, 'special': special}

    n = len(vocab)
    return {
        'version': '1.0',
        'truncation': None,
        'padding': None,
        'added_tokens': [added(0, BOS, True), added(1, EOS, True), added(2, PAD, True)] + [added(n + k, t, False) for k, t in enumerate(ADDED)],
        'normalizer': {'type': 'Sequence', 'normalizers': []},
        'pre_tokenizer': {
            'type': 'Sequence',
            'pretokenizers': [{'type': 'Split', 'pattern': {'Regex': p}, 'behavior': 'Isolated', 'invert': False} for p in SPLITS]
            + [{'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': False}],
        },
        'post_processor': {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': False, 'use_regex': True},
        'decoder': {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True},
        'model': {
            'type': 'BPE', 'dropout': None, 'unk_token': None, 'continuing_subword_prefix': None, 'end_of_word_suffix': None,
            'fuse_unk': False, 'byte_fallback': False, 'vocab': vocab, 'merges': [f'{a} {b}' for a, b in merges],
        },
    }
