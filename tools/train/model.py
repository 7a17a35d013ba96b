"""DeepSeek-V3.2 (MLA + DSA lightning indexer + DeepSeekMoE) in PyTorch, computing what Tessera's
src/models/deepseek.ts computes for a prefill from position 0, with parameter names equal to the
Hugging Face tensor names Tessera loads (state_dict keys == safetensors names).

Attention modes:
  'dense'  every causal key (stage 1, and Tessera's --dense-attention)
  'sparse' the indexer's top-k keys per query (stage 3, Tessera's default)
The indexer always runs when requested; its scores feed the KL loss of stages 2 and 3.
Shapes: B batch, T tokens, H heads, iH indexer heads.
"""
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from fp8 import act_quant, fp8_round_trip, hadamard_matrix, straight_through
from rope import apply_rope, attention_scale, rope_frequencies, rope_table


@dataclass(frozen=True)
class Cfg:
    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    q_lora_rank: int
    kv_lora_rank: int
    qk_nope_head_dim: int
    qk_rope_head_dim: int
    v_head_dim: int
    intermediate_size: int
    moe_intermediate_size: int
    n_routed_experts: int
    n_shared_experts: int
    num_experts_per_tok: int
    n_group: int
    topk_group: int
    routed_scaling_factor: float
    first_k_dense_replace: int
    index_n_heads: int
    index_head_dim: int
    index_topk: int
    rms_norm_eps: float
    rope_theta: float
    rope_scaling: dict | None
    max_position_embeddings: int

    @staticmethod
    def from_hf(c: dict) -> 'Cfg':
        names = Cfg.__dataclass_fields__.keys()
        return Cfg(**{k: c.get(k) for k in names})


class RMSNorm(nn.Module):
    def __init__(self, n: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def linear(n_in: int, n_out: int) -> nn.Linear:
    return nn.Linear(n_in, n_out, bias=False)


class Mlp(nn.Module):
    def __init__(self, hidden: int, inner: int):
        super().__init__()
        self.gate_proj, self.up_proj, self.down_proj = linear(hidden, inner), linear(hidden, inner), linear(inner, hidden)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Gate(nn.Module):
    """Sigmoid router; the correction bias steers selection only and is learned without gradients
    (DeepSeek-V3's auxiliary-loss-free balancing, updated by the trainer)."""

    def __init__(self, c: Cfg):
        super().__init__()
        self.c = c
        self.weight = nn.Parameter(torch.empty(c.n_routed_experts, c.hidden_size))
        self.register_buffer('e_score_correction_bias', torch.zeros(c.n_routed_experts))

    def forward(self, x):  # x [N, hidden] -> experts [N, k], weights [N, k]
        c = self.c
        scores = torch.sigmoid(F.linear(x, self.weight))  # [N, E]
        choice = (scores + self.e_score_correction_bias).detach()
        if c.n_group > 1:
            g = choice.view(x.shape[0], c.n_group, -1)
            group_score = g.topk(2, dim=-1).values.sum(-1)  # [N, G]: sum of each group's top 2
            keep = torch.zeros_like(group_score, dtype=torch.bool).scatter_(1, group_score.topk(c.topk_group, dim=-1).indices, True)
            choice = g.masked_fill(~keep[:, :, None], float('-inf')).view(x.shape[0], -1)
        experts = choice.topk(c.num_experts_per_tok, dim=-1).indices
        w = scores.gather(1, experts)
        if c.num_experts_per_tok > 1:
            w = w / w.sum(-1, keepdim=True)
        return experts, w * c.routed_scaling_factor


class Moe(nn.Module):
    def __init__(self, c: Cfg):
        super().__init__()
        self.gate = Gate(c)
        self.experts = nn.ModuleList(Mlp(c.hidden_size, c.moe_intermediate_size) for _ in range(c.n_routed_experts))
        self.shared_experts = Mlp(c.hidden_size, c.n_shared_experts * c.moe_intermediate_size)
        self.last_load = None  # tokens per expert in the last forward, for the bias update

    def forward(self, x):
        shape = x.shape
        x = x.reshape(-1, shape[-1])
        experts, w = self.gate(x)
        y = torch.zeros_like(x)
        for e, expert in enumerate(self.experts):
            rows, slot = (experts == e).nonzero(as_tuple=True)
            if rows.numel():
                y = y.index_add(0, rows, expert(x[rows]) * w[rows, slot, None])
        self.last_load = torch.bincount(experts.flatten(), minlength=len(self.experts))
        return (y + self.shared_experts(x)).view(shape)


class Indexer(nn.Module):
    def __init__(self, c: Cfg):
        super().__init__()
        self.c = c
        self.wq_b = linear(c.q_lora_rank, c.index_n_heads * c.index_head_dim)
        self.wk = linear(c.hidden_size, c.index_head_dim)
        self.k_norm = nn.LayerNorm(c.index_head_dim, eps=1e-6)
        self.weights_proj = linear(c.hidden_size, c.index_n_heads)

    def forward(self, a, qr, cos, sin, exact: bool):
        """Index scores I[b, t, s] for every (query, key) pair (not yet causally masked)."""
        c = self.c
        B, T, _ = a.shape
        rope = c.qk_rope_head_dim
        q = self.wq_b(qr).view(B, T, c.index_n_heads, c.index_head_dim)
        q = torch.cat([apply_rope(q[..., :rope], cos, sin, interleaved=False), q[..., rope:]], -1)
        k = self.k_norm(self.wk(a))  # [B, T, 128]: one key head shared by all query heads
        k = torch.cat([apply_rope(k[..., :rope], cos, sin, interleaved=False), k[..., rope:]], -1)
        q, k = hadamard(q, exact), hadamard(k, exact)
        q = straight_through(q, dequant)  # e4m3 with one ue8m0 scale per 128-vector, as cached
        k = straight_through(k, dequant)
        w = self.weights_proj(a) * (c.index_n_heads ** -0.5 * c.index_head_dim ** -0.5)  # [B, T, iH]
        dots = torch.einsum('bthd,bsd->bhts', q, k).relu()  # ReLU per head, before the signed head weight
        return torch.einsum('bhts,bth->bts', dots, w)


_H = {}


def hadamard(x, exact: bool):
    """x @ H_128 * 128^-0.5; `exact` sums in float64 like Tessera's butterflies (eval), else float32."""
    if exact not in _H:
        h = hadamard_matrix()
        _H[exact] = (h * math.sqrt(128)).double() if exact else h
    if exact:
        return ((x.double() @ _H[True]) * (1 / math.sqrt(128))).float()
    return x @ _H[False]


def dequant(x):
    v, s = act_quant(x)
    return (v.view(*x.shape[:-1], -1, 128) * s[..., None]).view(x.shape)


class Attention(nn.Module):
    def __init__(self, c: Cfg):
        super().__init__()
        self.c = c
        H = c.num_attention_heads
        self.q_a_proj = linear(c.hidden_size, c.q_lora_rank)
        self.q_a_layernorm = RMSNorm(c.q_lora_rank, c.rms_norm_eps)
        self.q_b_proj = linear(c.q_lora_rank, H * (c.qk_nope_head_dim + c.qk_rope_head_dim))
        self.kv_a_proj_with_mqa = linear(c.hidden_size, c.kv_lora_rank + c.qk_rope_head_dim)
        self.kv_a_layernorm = RMSNorm(c.kv_lora_rank, c.rms_norm_eps)
        self.kv_b_proj = linear(c.kv_lora_rank, H * (c.qk_nope_head_dim + c.v_head_dim))
        self.o_proj = linear(H * c.v_head_dim, c.hidden_size)
        self.indexer = Indexer(c)
        self.scale = attention_scale(c.qk_nope_head_dim + c.qk_rope_head_dim, c.rope_scaling)

    def forward(self, a, cos, sin, run: 'Run'):
        c = self.c
        B, T, _ = a.shape
        H, nope, rope, r = c.num_attention_heads, c.qk_nope_head_dim, c.qk_rope_head_dim, c.kv_lora_rank
        qr = self.q_a_layernorm(self.q_a_proj(a))  # [B, T, q_lora]
        q = self.q_b_proj(qr).view(B, T, H, nope + rope)
        q_nope, q_pe = q[..., :nope], apply_rope(q[..., nope:], cos, sin, interleaved=True)
        kva = self.kv_a_proj_with_mqa(a)  # [B, T, r + rope]
        latent = straight_through(self.kv_a_layernorm(kva[..., :r]), fp8_round_trip)  # cached as FP8
        k_pe = apply_rope(kva[..., r:], cos, sin, interleaved=True)  # [B, T, rope]: one key for all heads
        kv = self.kv_b_proj(latent).view(B, T, H, nope + c.v_head_dim)
        k_nope, v = kv[..., :nope], kv[..., nope:]
        scores = (torch.einsum('bthd,bshd->bhts', q_nope, k_nope) + torch.einsum('bthd,bsd->bhts', q_pe, k_pe)) * self.scale

        causal = torch.ones(T, T, dtype=torch.bool).tril()
        allowed = causal
        index_scores = None
        if run.indexer:
            # The indexer reads detached inputs: its KL loss trains only the indexer (paper §2.1).
            index_scores = self.indexer(a.detach(), qr.detach(), cos, sin, run.exact).masked_fill(~causal, float('-inf'))
            if run.sparse:
                allowed = causal & topk_mask(index_scores.detach(), c.index_topk, run.exact)
        probs = scores.masked_fill(~allowed.unsqueeze(-3), float('-inf')).softmax(-1)  # [B, H, T, T]
        out = torch.einsum('bhts,bshd->bthd', probs, v).reshape(B, T, H * c.v_head_dim)
        if index_scores is not None and run.kl_losses is not None:
            run.kl_losses.append(indexer_kl(probs.detach(), index_scores, allowed))
        return self.o_proj(out)


def topk_mask(index_scores, k: int, exact: bool):
    """[B, T, T] -> the k best keys of each query (ties: lower position, as Tessera); all causal
    keys when there are at most k. Callers AND it with the causal mask."""
    T = index_scores.shape[-1]
    if T <= k:
        return torch.ones_like(index_scores, dtype=torch.bool)
    if exact:
        idx = torch.sort(index_scores, dim=-1, descending=True, stable=True).indices[..., :k]
    else:
        idx = index_scores.topk(k, dim=-1).indices
    return torch.zeros_like(index_scores, dtype=torch.bool).scatter_(-1, idx, True)


def indexer_kl(probs, index_scores, allowed):
    """KL(p || softmax(I)) per query, p = head-summed attention L1-normalized, over `allowed` keys."""
    p = probs.sum(1)
    p = p / p.sum(-1, keepdim=True)  # [B, T, T]
    logq = index_scores.masked_fill(~allowed, float('-inf')).log_softmax(-1)
    kl = torch.xlogy(p, p) - torch.where(allowed, p * logq, torch.zeros_like(p))
    return kl.sum(-1).mean()


class Layer(nn.Module):
    def __init__(self, c: Cfg, moe: bool):
        super().__init__()
        self.input_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.mlp = Moe(c) if moe else Mlp(c.hidden_size, c.intermediate_size)

    def forward(self, h, cos, sin, run):
        h = h + self.self_attn(self.input_layernorm(h), cos, sin, run)
        return h + self.mlp(self.post_attention_layernorm(h))


class Body(nn.Module):
    def __init__(self, c: Cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList(Layer(c, i >= c.first_k_dense_replace and c.n_routed_experts > 0) for i in range(c.num_hidden_layers))
        self.norm = RMSNorm(c.hidden_size, c.rms_norm_eps)


@dataclass
class Run:
    """What one forward computes: sparse selection, indexer scores, exact eval numerics, KL sink."""
    sparse: bool = False
    indexer: bool = False
    exact: bool = False
    kl_losses: list | None = None


class DeepseekV32(nn.Module):
    def __init__(self, c: Cfg):
        super().__init__()
        self.c = c
        self.model = Body(c)
        self.lm_head = linear(c.hidden_size, c.vocab_size)
        self.freqs = rope_frequencies(c.rope_theta, c.qk_rope_head_dim, c.rope_scaling)

    def forward(self, tokens, run: Run):
        """tokens [B, T] at positions 0..T-1 -> logits [B, T, vocab]."""
        cos, sin = rope_table(tokens.shape[1], self.freqs)
        h = self.model.embed_tokens(tokens)
        for layer in self.model.layers:
            h = layer(h, cos, sin, run)
        return self.lm_head(self.model.norm(h))

    def moe_layers(self):
        return [l.mlp for l in self.model.layers if isinstance(l.mlp, Moe)]
