"""The three training stages of DeepSeek-V3.2's DSA recipe, scaled down (paper §2.1):

  1. dense      the main model alone, dense attention, next-token loss
  2. warm-up    main model frozen; the lightning indexer alone learns KL(p || softmax(I)), p the
                head-summed dense attention of its layer (L1-normalized)
  3. sparse     top-k attention from the indexer; the main model keeps the next-token loss, the
                indexer the KL loss over the selected keys; the indexer reads detached inputs,
                so neither loss reaches the other's parameters

MoE routing is balanced without an auxiliary loss: after each step the correction bias of every
expert moves by `bias_rate` towards equal load (DeepSeek-V3).
"""
import copy
import math
import time

import torch
import torch.nn.functional as F

from model import Run
from safetensors_io import bf16_round


def init_weights(model, n_layers: int, std: float = 0.02) -> None:
    for name, p in model.named_parameters():
        if p.dim() < 2:
            continue  # norms start at 1 / 0 (module defaults)
        s = std / math.sqrt(2 * n_layers) if name.endswith(('o_proj.weight', 'down_proj.weight')) else std
        torch.nn.init.normal_(p, 0.0, s)


def split_params(model):
    main, indexer = [], []
    for name, p in model.named_parameters():
        (indexer if '.indexer.' in name else main).append(p)
    return main, indexer


def adamw(params, lr: float):
    decay = [p for p in params if p.dim() >= 2]
    rest = [p for p in params if p.dim() < 2]
    return torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': rest, 'weight_decay': 0.0}], lr=lr, betas=(0.9, 0.95))


def set_lr(opt, lr: float) -> None:
    for g in opt.param_groups:
        g['lr'] = lr


def cosine(step: int, total: int, warmup: int, peak: float, floor: float) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return floor + (peak - floor) * 0.5 * (1 + math.cos(math.pi * t))


def update_bias(model, rate: float) -> None:
    with torch.no_grad():
        for moe in model.moe_layers():
            load = moe.last_load.float()
            moe.gate.e_score_correction_bias += rate * torch.sign(load.mean() - load)


def lm_loss(logits, y):
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def bf16_copy(model):
    """The model as it will be exported: every parameter rounded to bfloat16 (the bias stays f32)."""
    m = copy.deepcopy(model)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(bf16_round(p))
    return m


class Stage:
    """Runs `steps` optimizer steps of `step_fn`, logging loss and throughput."""

    def __init__(self, name: str, log):
        self.name, self.log = name, log
        self.wall = 0.0
        self.cpu = 0.0

    def run(self, steps: int, step_fn, every: int = 10):
        t0, c0 = time.time(), time.process_time()
        acc = {}
        for step in range(steps):
            parts = step_fn(step)
            for k, v in parts.items():
                acc[k] = acc.get(k, 0.0) + v
            if (step + 1) % every == 0 or step + 1 == steps:
                n = every if (step + 1) % every == 0 else (step + 1) % every
                msg = ' '.join(f'{k} {v / n:.4f}' for k, v in acc.items())
                self.log(f'[{self.name}] step {step + 1}/{steps} {msg} ({time.time() - t0:.0f} s)')
                acc = {}
        self.wall += time.time() - t0
        self.cpu += time.process_time() - c0


def train_dense(model, batches, steps: int, batch: int, lr: float, bias_rate: float, log) -> tuple[Stage, torch.optim.Optimizer]:
    main, _ = split_params(model)
    opt = adamw(main, lr)
    stage = Stage('dense', log)

    def step(i):
        set_lr(opt, cosine(i, steps, max(1, steps // 20), lr, lr / 10))
        x, y = batches.next(batch)
        loss = lm_loss(model(x, Run()), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(main, 1.0)
        opt.step()
        update_bias(model, bias_rate)
        return {'loss': loss.item()}

    stage.run(steps, step)
    return stage, opt


def warm_up_indexer(model, batches, steps: int, batch: int, lr: float, log) -> tuple[Stage, torch.optim.Optimizer]:
    main, indexer = split_params(model)
    for p in main:
        p.requires_grad_(False)
    opt = adamw(indexer, lr)
    stage = Stage('indexer warm-up', log)

    def step(i):
        set_lr(opt, cosine(i, steps, max(1, steps // 10), lr, lr / 10))
        x, _ = batches.next(batch)
        kl = []
        model(x, Run(indexer=True, kl_losses=kl))
        loss = torch.stack(kl).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(indexer, 1.0)
        opt.step()
        return {'kl': loss.item()}

    stage.run(steps, step)
    for p in main:
        p.requires_grad_(True)
    return stage, opt


def train_sparse(model, batches, steps: int, batch: int, lr: float, indexer_lr: float, bias_rate: float,
                 main_opt, indexer_opt, log) -> Stage:
    main, indexer = split_params(model)
    stage = Stage('sparse', log)

    def step(i):
        set_lr(main_opt, cosine(i, steps, 1, lr, lr / 3))
        set_lr(indexer_opt, cosine(i, steps, 1, indexer_lr, indexer_lr / 3))
        x, y = batches.next(batch)
        kl = []
        lm = lm_loss(model(x, Run(indexer=True, sparse=True, kl_losses=kl)), y)
        kl_loss = torch.stack(kl).mean()
        main_opt.zero_grad(set_to_none=True)
        indexer_opt.zero_grad(set_to_none=True)
        (lm + kl_loss).backward()  # disjoint parameters: lm reaches only the main model, kl only the indexer
        torch.nn.utils.clip_grad_norm_(main, 1.0)
        torch.nn.utils.clip_grad_norm_(indexer, 1.0)
        main_opt.step()
        indexer_opt.step()
        update_bias(model, bias_rate)
        return {'loss': lm.item(), 'kl': kl_loss.item()}

    stage.run(steps, step)
    return stage
