"""Writes the ids tools/train's encoder gives each training document and held-out file, for
check-tokenizer.mjs to compare with Tessera's tokenizer (@huggingface/tokenizers).

  /usr/bin/python3 tools/train/encode_ids.py MODEL_DIR WORK_DIR   -> WORK_DIR/python-ids.jsonl
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bpe import Encoder  # noqa: E402


def load_encoder(model_dir: str) -> Encoder:
    with open(os.path.join(model_dir, 'tokenizer.json'), encoding='utf-8') as f:
        m = json.load(f)['model']
    return Encoder(m['vocab'], [tuple(x.split(' ')) for x in m['merges']])


def texts(model_dir: str, work: str):
    with open(os.path.join(work, 'train.jsonl'), encoding='utf-8') as f:
        for line in f:
            yield json.loads(line)
    for name in ['heldout.txt', 'heldout-short.txt']:
        with open(os.path.join(model_dir, name), encoding='utf-8') as f:
            yield f.read()


if __name__ == '__main__':
    model_dir, work = sys.argv[1], sys.argv[2]
    enc = load_encoder(model_dir)
    with open(os.path.join(work, 'python-ids.jsonl'), 'w') as out:
        for t in texts(model_dir, work):
            out.write(json.dumps({'text': t, 'ids': enc.encode(t)}) + '\n')
