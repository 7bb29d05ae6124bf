"""SAK-style student: one small CNN stem, one adapter path per teacher, a router that mixes them per image.

Teachers here: the CBAM segmentation teacher (its context-site refined map, 128×20×20: layout and parts)
and the ViT (its last-layer patch tokens, 96×20×20: image-level semantics). Each adapter path is a residual
bottleneck on the stem features; its projector lifts it to the teacher's width, and training pulls it to the
teacher's features with 0.9·(1 − cosine) + 0.1·smooth-L1 per location (SAK's feature loss). The router
(softmax over [stem, path per teacher], one weight vector per image) feeds two task heads: segmentation and
image-level labels; noise on the router's logits in training keeps every path in use. Exported: task
outputs, router weights, each path's projected features.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..data import NUM_CLASSES, NUM_LABELS
from .cbam_seg import conv_bn, stage


@dataclass(frozen=True)
class SAKConfig:
    widths: tuple[int, int, int] = (16, 32, 48)
    teachers: tuple[tuple[str, int], ...] = (('seg-teacher', 128), ('vit-attn', 64))
    bottleneck: int = 24
    # Std of Gaussian noise on the router's logits in training (SAK adds it; without it one path won early
    # and took 0.997 of the weight for every image — measured). Evaluation and export have none.
    router_noise: float = 1.0
    num_classes: int = NUM_CLASSES  # segmentation head, background included (data configuration)
    num_labels: int = NUM_LABELS  # image-level presence labels


class Adapter(nn.Module):
    def __init__(self, c: int, hidden: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c, hidden, 1), nn.ReLU(inplace=True), conv_bn(hidden, hidden, 3), nn.Conv2d(hidden, c, 1)
        )

    def forward(self, x):
        return x + self.body(x)


class SAKStudent(nn.Module):
    def __init__(self, cfg: SAKConfig):
        super().__init__()
        self.cfg = cfg
        w = cfg.widths
        self.stem = nn.Sequential(conv_bn(3, w[0], 3, 2), stage(w[0], w[1], 1, 2), stage(w[1], w[2], 2, 2))
        self.paths = nn.ModuleList(Adapter(w[2], cfg.bottleneck) for _ in cfg.teachers)
        self.projectors = nn.ModuleList(nn.Conv2d(w[2], tw, 1) for _, tw in cfg.teachers)
        self.router = nn.Linear(w[2], 1 + len(cfg.teachers))
        self.seg = nn.Sequential(conv_bn(w[2], w[2]), nn.Conv2d(w[2], cfg.num_classes, 1))
        self.labels = nn.Linear(w[2], cfg.num_labels)

    def forward(self, x):
        """→ (seg logits [B,K,H,W], label logits [B,L], router weights [B,1+T], projected paths [B,Tw,h,w]...)."""
        f = self.stem(x)
        paths = [p(f) for p in self.paths]
        logits = self.router(f.mean((2, 3)))
        if self.training and self.cfg.router_noise > 0:
            logits = logits + self.cfg.router_noise * torch.randn_like(logits)
        weights = logits.softmax(-1)
        branches = torch.stack([f] + paths, 1)  # [B, 1+T, C, h, w]
        mixed = (weights[:, :, None, None, None] * branches).sum(1)
        seg = F.interpolate(self.seg(mixed), size=x.shape[2:], mode='bilinear', align_corners=False)
        labels = self.labels(mixed.mean((2, 3)))
        projected = [proj(p) for proj, p in zip(self.projectors, paths)]
        return seg, labels, weights, projected


def feature_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """SAK's per-location 0.9·(1 − cos) + 0.1·smooth-L1, on [B, C, h, w] maps."""
    cos = F.cosine_similarity(student, teacher, dim=1)
    return 0.9 * (1 - cos).mean() + 0.1 * F.smooth_l1_loss(student, teacher)
