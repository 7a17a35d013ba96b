"""Token streams for training and evaluation."""
import json

import numpy as np

from bpe import Encoder


def encode_training_docs(enc: Encoder, train_jsonl: str, eos: int) -> np.ndarray:
    """Every training document followed by EOS, as one uint16 stream."""
    out = []
    with open(train_jsonl, encoding='utf-8') as f:
        for line in f:
            out += enc.encode(json.loads(line))
            out.append(eos)
    return np.array(out, dtype=np.uint16)


class Batches:
    """Random windows of the stream: inputs [BOS] + s[o:o+T-1], targets s[o:o+T] (seeded)."""

    def __init__(self, stream: np.ndarray, context: int, bos: int, seed: int):
        self.stream = stream.astype(np.int64)
        self.context = context
        self.bos = bos
        self.rng = np.random.default_rng(seed)

    def next(self, batch: int):
        import torch

        T = self.context
        offsets = self.rng.integers(0, len(self.stream) - T, size=batch)
        y = np.stack([self.stream[o:o + T] for o in offsets])
        x = np.concatenate([np.full((batch, 1), self.bos), y[:, :-1]], axis=1)
        return torch.from_numpy(x), torch.from_numpy(y)
