"""Exact float32 emulation of the FP8 steps Tessera (and DeepSeek's reference kernels) apply.

torch 1.13 (Debian) has no float8 dtype, so e4m3fn rounding is done by hand:
round to nearest, ties to even mantissa, after clamping to [-448, 448]. The ue8m0 block scale is
2^ceil(log2(max(amax, 1e-4) * f32(1/448))), the ceiling taken on the float32 value (exact via frexp).
Every function is bit-identical to src/numerics/fp8.ts; `straight_through` variants let gradients
pass as if the rounding were the identity, so training sees the same forward values as inference.
"""
import math

import torch

E4M3_MAX = 448.0
BLOCK = 128
_INV_448 = torch.tensor(1.0 / 448.0, dtype=torch.float32).item()  # f32(1/448) as a python float


def round_e4m3(x: torch.Tensor) -> torch.Tensor:
    """Nearest e4m3fn value (float32 tensor in, float32 out)."""
    c = x.clamp(-E4M3_MAX, E4M3_MAX)
    a = c.abs()
    # frexp: a = m * 2^e with m in [0.5, 1), so floor(log2 a) = e - 1 exactly.
    _, e = torch.frexp(a)
    quantum = torch.where(a < 2.0 ** -6, torch.full_like(a, 2.0 ** -9), torch.ldexp(torch.ones_like(a), (e - 4).to(torch.int32)).to(a.dtype))
    r = torch.round(a / quantum) * quantum  # torch.round is round-half-to-even; a/quantum is exact
    return torch.where(c < 0, -r, r)


def ue8m0_scale(amax: torch.Tensor) -> torch.Tensor:
    p = amax.clamp_min(torch.tensor(1e-4, dtype=torch.float32).item()) * _INV_448  # float32 product
    m, e = torch.frexp(p)
    # p = m * 2^e, m in [0.5, 1): an exact power of two (m == 0.5) keeps exponent e-1, else round up to 2^e.
    exp = torch.where(m == 0.5, e - 1, e)
    return torch.ldexp(torch.ones_like(p), exp.to(torch.int32)).to(p.dtype)


def act_quant(x: torch.Tensor):
    """Per 128-block of the last dim: (e4m3 values, ue8m0 scales [..., blocks]). Last dim % 128 == 0."""
    shape = x.shape
    assert shape[-1] % BLOCK == 0, 'only whole 128-blocks are used in this model'
    xb = x.reshape(*shape[:-1], shape[-1] // BLOCK, BLOCK)
    s = ue8m0_scale(xb.detach().abs().amax(dim=-1, keepdim=True))
    v = round_e4m3(xb / s)
    return v.reshape(shape), s.squeeze(-1)


def fp8_round_trip(x: torch.Tensor) -> torch.Tensor:
    """x -> e4m3(x / s) * s per 128-block (the KV latent of DeepSeek-V3.2)."""
    shape = x.shape
    xb = x.reshape(*shape[:-1], shape[-1] // BLOCK, BLOCK)
    s = ue8m0_scale(xb.abs().amax(dim=-1, keepdim=True))
    return (round_e4m3(xb / s) * s).reshape(shape)


def straight_through(x: torch.Tensor, fn) -> torch.Tensor:
    """Forward value fn(x), gradient of the identity."""
    return x + (fn(x.detach()) - x).detach()


def hadamard_matrix(n: int = BLOCK) -> torch.Tensor:
    """Sylvester Hadamard matrix times n^-0.5 (symmetric, orthogonal)."""
    h = torch.ones(1, 1, dtype=torch.float64)
    while h.shape[0] < n:
        h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)], 0)
    return (h / math.sqrt(n)).to(torch.float32)
