"""Checks that model.py computes what DeepSeek's reference computes: prefill logits of the tiny
random V3.2 checkpoint in test/fixtures/deepseek/v32-tiny-bf16 (YaRN, FP8 latent round trip,
indexer top-k with more keys than index_topk, MoE) against the reference goldens.

  /usr/bin/python3 tools/train/check_golden.py      (prints the max abs deviation per prompt)
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from model import Cfg, DeepseekV32, Run  # noqa: E402
from safetensors_io import read_safetensors  # noqa: E402

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'fixtures', 'deepseek', 'v32-tiny-bf16')


def main() -> int:
    config = json.load(open(os.path.join(FIXTURE, 'config.json')))
    model = DeepseekV32(Cfg.from_hf(config))
    model.load_state_dict(read_safetensors(os.path.join(FIXTURE, 'model.safetensors')))
    golden = json.load(open(os.path.join(FIXTURE, 'golden.json')))
    worst = 0.0
    for p, prompt in enumerate(golden['prompt_tokens']):
        f = golden['files'][f'prompt{p}.prefill_logits']
        want = np.fromfile(os.path.join(FIXTURE, f['path']), dtype=np.float32).reshape(f['shape'])
        with torch.no_grad():
            sparse = model(torch.tensor([prompt]), Run(indexer=True, sparse=True, exact=True))[0].numpy()
            dense = model(torch.tensor([prompt]), Run())[0].numpy()
        dev = float(np.abs(sparse - want).max())
        worst = max(worst, dev)
        print(f'prompt {p} ({len(prompt)} tokens, index_topk {config["index_topk"]}): sparse max |dev| {dev:.2e}; dense would deviate {np.abs(dense - want).max():.2e}')
    # The fixture README allows ~2e-4 on most rows and up to ~1e-2 where one e4m3 rounding flips.
    return 0 if worst < 1e-2 else 1


if __name__ == '__main__':
    sys.exit(main())
