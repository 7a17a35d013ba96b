"""The perplexity protocol shared with `tessera perplexity` (src/cli/perplexity.ts).

The text is tokenized without special tokens and cut into consecutive, non-overlapping windows of
context-1 tokens; each window is fed as [BOS] + its tokens (a fresh sequence at position 0) and
scored only on its second half: the targets at window positions context//2 .. context-1, each
predicted from the logits one position earlier (as llama.cpp's perplexity tool, so every scored
token sees at least context/2 tokens). A tail shorter than a window is not scored.
PPL = exp(mean NLL over the scored targets).
"""
import math

import torch

from model import Run


def windows(ids: list[int], context: int, bos: int) -> list[list[int]]:
    n = context - 1
    return [[bos] + ids[w * n:(w + 1) * n] for w in range(len(ids) // n)]


def first_scored(context: int) -> int:
    return context // 2


@torch.no_grad()
def perplexity(model, ids: list[int], context: int, bos: int, run: Run, chunks: int | None = None, batch: int = 4) -> dict:
    """`chunks` scores only the first windows (llama.cpp's --chunks)."""
    ws = windows(ids, context, bos)[:chunks]
    if not ws:
        raise ValueError(f'the text has {len(ids)} tokens; one window needs {context - 1}')
    first = first_scored(context)
    nll, count = 0.0, 0
    for i in range(0, len(ws), batch):
        x = torch.tensor(ws[i:i + batch])
        logp = model(x, run).log_softmax(-1)  # [b, context, vocab]
        tgt = x[:, first:]
        nll -= logp[:, first - 1:-1].gather(-1, tgt[..., None]).double().sum().item()
        count += tgt.numel()
    return {'ppl': math.exp(nll / count), 'nll': nll / count, 'windows': len(ws), 'scored_tokens': count, 'context': context}
