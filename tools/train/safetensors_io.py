"""Minimal safetensors reader/writer (no safetensors package in Debian): BF16 and F32 only."""
import json
import struct

import numpy as np
import torch


def bf16_bits(t: torch.Tensor) -> np.ndarray:
    """float32 -> bfloat16 bit patterns, round to nearest even (what torch's .bfloat16() does)."""
    return t.detach().to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)


def bf16_round(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to(torch.bfloat16).float()


def write_safetensors(path: str, tensors: dict[str, tuple[str, torch.Tensor]]) -> None:
    """tensors: name -> (dtype 'BF16' | 'F32', tensor); written in sorted-name order."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        dtype, t = tensors[name]
        data = (bf16_bits(t) if dtype == 'BF16' else t.detach().float().numpy().astype('<f4')).tobytes()
        header[name] = {'dtype': dtype, 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header['__metadata__'] = {'format': 'pt'}
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * (-len(h) % 8)  # keep the data section 8-byte aligned
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path: str) -> dict[str, torch.Tensor]:
    """name -> float32 tensor (BF16 widened exactly)."""
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        a, b = info['data_offsets']
        raw = data[a:b]
        if info['dtype'] == 'BF16':
            bits = np.frombuffer(raw, dtype='<u2').astype(np.uint32) << 16
            arr = bits.view(np.float32)
        elif info['dtype'] == 'F32':
            arr = np.frombuffer(raw, dtype='<f4')
        else:
            raise ValueError(f'{path}: {name} has dtype {info["dtype"]}; only BF16/F32 are read')
        out[name] = torch.from_numpy(arr.copy()).view(info['shape'])
    return out
