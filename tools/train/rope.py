"""Rotary tables computed exactly as src/numerics/rope.ts does (float32 steps, YaRN blend)."""
import math

import numpy as np
import torch

f32 = np.float32


def _correction_dim(rotations: float, dim: int, base: float, max_pos: int) -> float:
    return (dim * math.log(max_pos / (rotations * 2 * math.pi))) / (2 * math.log(base))


def rope_frequencies(theta: float, dim: int, yarn: dict | None) -> np.ndarray:
    half = dim // 2
    freqs = np.zeros(half, dtype=np.float32)
    for i in range(half):
        exponent = f32(f32(2 * i) / f32(dim))
        freqs[i] = f32(1.0 / float(f32(math.pow(theta, float(exponent)))))
    if not yarn:
        return freqs
    low = max(math.floor(_correction_dim(yarn.get('beta_fast', 32), dim, theta, yarn['original_max_position_embeddings'])), 0)
    high = min(math.ceil(_correction_dim(yarn.get('beta_slow', 1), dim, theta, yarn['original_max_position_embeddings'])), dim - 1)
    if low == high:
        high += 0.001
    for i in range(half):
        ramp = min(max(float(f32(f32(i - low) / f32(high - low))), 0.0), 1.0)
        smooth = f32(1 - ramp)
        f = freqs[i]
        freqs[i] = f32(f32(f32(f / f32(yarn['factor'])) * f32(1 - smooth)) + f32(f * smooth))
    return freqs


def yarn_mscale(scale: float, mscale: float) -> float:
    return 1.0 if scale <= 1 else 0.1 * mscale * math.log(scale) + 1


def attention_scale(qk_head_dim: int, yarn: dict | None) -> float:
    base = qk_head_dim ** -0.5
    if not yarn or not yarn.get('mscale_all_dim'):
        return base
    m = yarn_mscale(yarn['factor'], yarn['mscale_all_dim'])
    return base * m * m


def rope_table(n: int, freqs: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """cos, sin [n, dim/2] float32 for positions 0..n-1 (angle = f32(pos * freq))."""
    pos = torch.arange(n, dtype=torch.float32)[:, None]
    angle = pos * torch.from_numpy(freqs)[None, :]  # float32 product, as Math.fround(pos * freq)
    return torch.cos(angle.double()).float(), torch.sin(angle.double()).float()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, interleaved: bool) -> torch.Tensor:
    """x [..., T, (heads,) rope] rotated; cos/sin [T, rope/2] broadcast over heads when x has them.
    Interleaved pairs (2i, 2i+1) for MLA, half-split pairs (i, i + rope/2) for the indexer."""
    if x.dim() == cos.dim() + 2:  # [B, T, H, rope]: add a heads axis to the tables
        cos, sin = cos[:, None, :], sin[:, None, :]
    if interleaved:
        x0, x1 = x[..., 0::2], x[..., 1::2]
        return torch.stack([x0 * cos - x1 * sin, x0 * sin + x1 * cos], dim=-1).flatten(-2)
    h = x.shape[-1] // 2
    x0, x1 = x[..., :h], x[..., h:]
    return torch.cat([x0 * cos - x1 * sin, x0 * sin + x1 * cos], dim=-1)
