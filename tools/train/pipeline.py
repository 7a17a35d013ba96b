"""tessera-tiny end to end: corpus -> tokenizer -> dense -> indexer warm-up -> sparse -> export.

  /usr/bin/python3 tools/train/pipeline.py [--out models/tessera-tiny] [--work tmp/tessera-tiny-train]
      [--seed 0] [--threads 2] [--scale 1.0]

--scale multiplies every stage's step count (0.02 for a smoke run). Prints a log; writes the model
directory, eval.json (held-out perplexity after every stage and of the exported files) and
train-log.txt next to it.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import corpus  # noqa: E402
from bpe import Encoder, train_bpe  # noqa: E402
from config import CONTEXT, VOCAB_SIZE, hf_config  # noqa: E402
from data import Batches, encode_training_docs  # noqa: E402
from export import export_generation_config, export_tokenizer, export_weights, write_json  # noqa: E402
from model import Cfg, DeepseekV32, Run  # noqa: E402
from ppl import perplexity  # noqa: E402
from safetensors_io import read_safetensors  # noqa: E402
from train import bf16_copy, init_weights, train_dense, train_sparse, warm_up_indexer  # noqa: E402

# Steps of 8 x 512 tokens; sized for < 1 hour on 2 cores (see tools/train/README.md).
BATCH = 8
DENSE_STEPS, WARMUP_STEPS, SPARSE_STEPS = 480, 60, 140
DENSE_LR, INDEXER_LR, SPARSE_LR = 2e-3, 3e-3, 5e-4
BIAS_RATE = 1e-3
SHORT_HELDOUT_WINDOWS = 2  # the file `tessera perplexity` is tested on in CI
# What CI checks `tessera perplexity` against: (file, context, chunks, attention). The slow js
# device gets the short-context check (2 windows of 128: still sparse, top-64 of up to 127 keys).
CHECKS = [
    ('heldout-short.txt', CONTEXT, None, 'sparse'),
    ('heldout-short.txt', CONTEXT, None, 'dense'),
    ('heldout-short.txt', 128, 2, 'sparse'),
    ('heldout.txt', CONTEXT, None, 'sparse'),
    ('heldout.txt', CONTEXT, None, 'dense'),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default='models/tessera-tiny')
    ap.add_argument('--work', default='tmp/tessera-tiny-train')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--scale', type=float, default=1.0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    log_lines = []

    def log(msg):
        print(msg, flush=True)
        log_lines.append(msg)

    timings = {}
    t = time.time()
    sources = corpus.build(args.work)
    docs = [json.loads(line) for line in open(os.path.join(args.work, 'train.jsonl'), encoding='utf-8')]
    vocab, merges = train_bpe(docs, VOCAB_SIZE)
    enc = Encoder(vocab, merges)
    bos, eos = vocab['<｜begin▁of▁sentence｜>'], vocab['<｜end▁of▁sentence｜>']
    stream = encode_training_docs(enc, os.path.join(args.work, 'train.jsonl'), eos)
    heldout_text = open(os.path.join(args.work, 'heldout.txt'), encoding='utf-8').read()
    heldout = enc.encode(heldout_text)
    short_text = short_heldout(heldout_text, enc, SHORT_HELDOUT_WINDOWS * (CONTEXT - 1))
    export_tokenizer(args.out, vocab, merges, CONTEXT)
    timings['corpus + tokenizer'] = time.time() - t
    log(f'corpus: {stream.size} training tokens, {len(heldout)} held-out tokens, vocab {len(vocab) + 4}; {timings["corpus + tokenizer"]:.0f} s')

    config = hf_config()
    model = DeepseekV32(Cfg.from_hf(config))
    init_weights(model, config['num_hidden_layers'])
    n_params = sum(p.numel() for p in model.parameters())
    log(f'model: {n_params} parameters')
    batches = Batches(stream, CONTEXT, bos, args.seed)
    steps = lambda n: max(1, round(n * args.scale))  # noqa: E731
    evals = {}

    def evaluate(stage: str, modes):
        m = bf16_copy(model)
        evals[stage] = {}
        for mode in modes:
            r = perplexity(m, heldout, CONTEXT, bos, Run(indexer=mode == 'sparse', sparse=mode == 'sparse', exact=True))
            evals[stage][mode] = r['ppl']
            log(f'eval after {stage}: {mode} held-out PPL {r["ppl"]:.3f} ({r["scored_tokens"]} tokens)')

    s1, main_opt = train_dense(model, batches, steps(DENSE_STEPS), BATCH, DENSE_LR, BIAS_RATE, log)
    timings['stage 1 dense'] = s1.wall
    evaluate('dense', ['dense', 'sparse'])
    s2, indexer_opt = warm_up_indexer(model, batches, steps(WARMUP_STEPS), BATCH, INDEXER_LR, log)
    timings['stage 2 indexer warm-up'] = s2.wall
    evaluate('indexer warm-up', ['dense', 'sparse'])
    s3 = train_sparse(model, batches, steps(SPARSE_STEPS), BATCH, SPARSE_LR, INDEXER_LR / 3, BIAS_RATE, main_opt, indexer_opt, log)
    timings['stage 3 sparse'] = s3.wall
    evaluate('sparse', ['dense', 'sparse'])

    t = time.time()
    weights = os.path.join(args.out, 'model.safetensors')
    export_weights(model, weights)
    write_json(os.path.join(args.out, 'config.json'), config)
    export_generation_config(args.out)
    with open(os.path.join(args.out, 'heldout.txt'), 'w', encoding='utf-8') as f:
        f.write(heldout_text)
    with open(os.path.join(args.out, 'heldout-short.txt'), 'w', encoding='utf-8') as f:
        f.write(short_text)
    # The numbers Tessera is checked against: the exported files, read back.
    exported = DeepseekV32(Cfg.from_hf(config))
    exported.load_state_dict(read_safetensors(weights))
    checks = []
    texts = {'heldout.txt': heldout_text, 'heldout-short.txt': short_text}
    for name, context, chunks, mode in CHECKS:
        r = perplexity(exported, enc.encode(texts[name]), context, bos, Run(indexer=mode == 'sparse', sparse=mode == 'sparse', exact=True), chunks)
        checks.append({'file': name, 'context': context, 'chunks': chunks, 'attention': mode, **r})
        log(f'exported: {name} context {context} chunks {chunks} {mode}: PPL {r["ppl"]:.4f} over {r["scored_tokens"]} tokens')
    timings['export + final eval'] = time.time() - t
    write_json(os.path.join(args.out, 'eval.json'), {
        'protocol': 'windows of context-1 tokens after BOS, second half scored (tools/train/ppl.py)',
        'context': CONTEXT,
        'checks': checks,
        'stages': evals,
        'parameters': n_params,
        'training_tokens': stream.size,
        'steps': {'dense': steps(DENSE_STEPS), 'indexer warm-up': steps(WARMUP_STEPS), 'sparse': steps(SPARSE_STEPS), 'batch': [BATCH, CONTEXT]},
        'seconds': {k: round(v) for k, v in timings.items()},
        'cpu_seconds': {'stage 1 dense': round(s1.cpu), 'stage 2 indexer warm-up': round(s2.cpu), 'stage 3 sparse': round(s3.cpu)},
        'threads': args.threads,
        'seed': args.seed,
        'corpus': sources,
    })
    with open(os.path.join(args.out, 'train-log.txt'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(log_lines) + '\n')


def short_heldout(text: str, enc: Encoder, tokens: int) -> str:
    """The first lines of the held-out Python page(s) that give at least `tokens` tokens."""
    start = text.find('Sorting HOW TO')  # howto/sorting: a long document, so attention has something to find
    lines, out = text[max(start, 0):].split('\n'), []
    for line in lines:
        out.append(line)
        if len(enc.encode('\n'.join(out) + '\n')) >= tokens + 8:
            break
    return '\n'.join(out) + '\n'


if __name__ == '__main__':
    np.seterr(all='raise')
    main()
