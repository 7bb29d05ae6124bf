"""A small ViT whose last-layer CLS attention has to find the parts, trained from image-level labels only.

Why the last block is different: in a plain ViT the CLS token carries what earlier layers gathered through
its residual stream, so the last layer's CLS attention is free to look anywhere (the probe in
measured.md got a foreground IoU of 0.09). Here the last block drops the CLS residual and masks CLS→CLS,
so everything the classifier sees is the last layer's attention-weighted pool of patch values — attention
MIL. To say "a gear and a cracked nut are on the belt" it must put its attention mass on those parts.
Attention is computed explicitly (softmax(qkᵀ/√d)) so the weights exist as tensors and export to ONNX.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..data import NUM_LABELS


@dataclass(frozen=True)
class ViTConfig:
    image: int = 160
    patch: int = 8
    dim: int = 128
    depth: int = 6
    heads: int = 4
    mlp: int = 4
    num_labels: int = NUM_LABELS  # image-level presence of each foreground class (data configuration)

    @property
    def grid(self) -> int:
        return self.image // self.patch


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.scale = (dim // heads) ** -0.5

    def forward(self, x, block_cls_self: bool = False):
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # [B, heads, N+1, dh]
        logits = (q @ k.transpose(-2, -1)) * self.scale
        if block_cls_self:
            # CLS may not attend to itself: its output is a pool over patches alone.
            bias = torch.zeros(n, n, device=x.device, dtype=x.dtype)
            bias[0, 0] = -1e4
            logits = logits + bias
        attn = logits.softmax(-1)
        out = (attn @ v).transpose(1, 2).reshape(b, n, d)
        cos = F.normalize(q[:, :, 0], dim=-1)[:, :, None, :] @ F.normalize(k[:, :, 1:], dim=-1).transpose(-2, -1)
        return self.proj(out), attn, cos[:, :, 0]  # cos: [B, heads, N] (CLS query · patch keys)


class Block(nn.Module):
    def __init__(self, cfg: ViTConfig, cls_residual: bool = True):
        super().__init__()
        self.n1 = nn.LayerNorm(cfg.dim)
        self.attn = Attention(cfg.dim, cfg.heads)
        self.n2 = nn.LayerNorm(cfg.dim)
        self.mlp = nn.Sequential(
            nn.Linear(cfg.dim, cfg.dim * cfg.mlp), nn.GELU(), nn.Linear(cfg.dim * cfg.mlp, cfg.dim)
        )
        self.cls_residual = cls_residual

    def forward(self, x):
        a, attn, cos = self.attn(self.n1(x), block_cls_self=not self.cls_residual)
        if self.cls_residual:
            x = x + a
        else:
            x = torch.cat([a[:, :1], x[:, 1:] + a[:, 1:]], 1)
        x = x + self.mlp(self.n2(x))
        return x, attn, cos


class PatchViT(nn.Module):
    def __init__(self, cfg: ViTConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Conv2d(3, cfg.dim, cfg.patch, cfg.patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, cfg.dim))
        self.pos = nn.Parameter(torch.randn(1, cfg.grid * cfg.grid + 1, cfg.dim) * 0.02)
        self.blocks = nn.ModuleList([Block(cfg, cls_residual=i < cfg.depth - 1) for i in range(cfg.depth)])
        self.norm = nn.LayerNorm(cfg.dim)
        self.head = nn.Linear(cfg.dim, cfg.num_labels)

    def patch_tokens(self, x):
        """Last-layer patch tokens [B, N, dim] (the residual stream before the final norm): SAK's ViT feature."""
        x = self.embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos
        for blk in self.blocks:
            x = blk(x)[0]
        return x[:, 1:]

    def forward(self, x, return_pooled: bool = False):
        """→ (label logits [B, labels], CLS attention rows [B, layers, heads, N], last-layer cosine [B, heads, N])
        and, with return_pooled, the normed CLS pool [B, dim] that training's auxiliary heads read."""
        x = self.embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos
        rows = []
        cos = None
        for blk in self.blocks:
            x, attn, cos = blk(x)
            rows.append(attn[:, :, 0, 1:])
        pooled = self.norm(x[:, 0])
        out = (self.head(pooled), torch.stack(rows, 1), cos)
        return (*out, pooled) if return_pooled else out
