"""Writes the Hugging Face model directory Tessera loads."""
import json
import os

from bpe import BOS, EOS, PAD, tokenizer_json
from safetensors_io import write_safetensors


def export_weights(model, path: str) -> int:
    """BF16 for every tensor except the router correction bias (F32, as DeepSeek ships it)."""
    tensors = {}
    for name, t in model.state_dict().items():
        tensors[name] = ('F32' if name.endswith('e_score_correction_bias') else 'BF16', t)
    write_safetensors(path, tensors)
    return sum(t.numel() for _, t in tensors.values())


def write_json(path: str, obj) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write('\n')


def export_tokenizer(out: str, vocab, merges, context: int) -> None:
    write_json(os.path.join(out, 'tokenizer.json'), tokenizer_json(vocab, merges))
    write_json(os.path.join(out, 'tokenizer_config.json'), {
        'tokenizer_class': 'LlamaTokenizerFast',
        'add_bos_token': True,
        'add_eos_token': False,
        'bos_token': BOS,
        'eos_token': EOS,
        'pad_token': PAD,
        'unk_token': None,
        'clean_up_tokenization_spaces': False,
        'legacy': True,
        'model_max_length': context,
    })


def export_generation_config(out: str) -> None:
    # A plain-text LM: sample a little (greedy decoding of a tiny model loops quickly).
    write_json(os.path.join(out, 'generation_config.json'), {
        'bos_token_id': 0,
        'eos_token_id': 1,
        'do_sample': True,
        'temperature': 0.7,
        'top_p': 0.9,
    })
