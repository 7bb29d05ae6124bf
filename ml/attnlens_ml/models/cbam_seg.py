"""CBAM segmenters (DeepLabv3+-like) with CBAM at three sites: backbone output, context module, decoder.

Each CBAM block keeps its last gates and refined map on the module (`.last`), so the export wrapper and
the AttnFD loss read the same tensors. Channel pooling is global (mean/amax over H×W), never a kernel taken
from the input size, so the export has no size-dependent pooling (see methods.md, export pitfalls).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..data import NUM_CLASSES

SITES = ('backbone', 'context', 'decoder')


class ChannelGate(nn.Module):
    def __init__(self, c: int, reduction: int = 16):
        super().__init__()
        hidden = max(c // reduction, 4)
        self.mlp = nn.Sequential(nn.Linear(c, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, c))

    def forward(self, x):  # -> [B, C]
        return torch.sigmoid(self.mlp(x.mean((2, 3))) + self.mlp(x.amax((2, 3))))


class SpatialGate(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, 7, padding=3, bias=False)
        self.bn = nn.BatchNorm2d(1)

    def forward(self, x):  # -> [B, 1, H, W]
        pooled = torch.cat([x.amax(1, keepdim=True), x.mean(1, keepdim=True)], 1)
        return torch.sigmoid(self.bn(self.conv(pooled)))


class CBAM(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.channel = ChannelGate(c)
        self.spatial = SpatialGate()
        self.last: dict[str, torch.Tensor] = {}

    def forward(self, x):
        ch = self.channel(x)
        x = x * ch[:, :, None, None]
        sp = self.spatial(x)
        x = x * sp
        self.last = {'channel': ch, 'spatial': sp, 'refined': x}
        return x


def conv_bn(cin, cout, k=3, s=1, d=1):
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, s, padding=d * (k // 2), dilation=d, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride=1, dilation=1):
        super().__init__()
        self.c1 = conv_bn(cin, cout, 3, stride, dilation)
        self.c2 = nn.Sequential(nn.Conv2d(cout, cout, 3, 1, dilation, dilation, bias=False), nn.BatchNorm2d(cout))
        self.skip = (
            nn.Identity()
            if stride == 1 and cin == cout
            else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        )

    def forward(self, x):
        return F.relu(self.c2(self.c1(x)) + self.skip(x))


def stage(cin, cout, blocks, stride, dilation=1):
    layers = [BasicBlock(cin, cout, stride, dilation)]
    layers += [BasicBlock(cout, cout, 1, dilation) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class ASPP(nn.Module):
    """Context module: parallel 1x1 and dilated 3x3 branches plus global pooling, fused by a 1x1."""

    def __init__(self, cin, cout, rates=(2, 4)):
        super().__init__()
        self.branches = nn.ModuleList([conv_bn(cin, cout, 1)] + [conv_bn(cin, cout, 3, 1, r) for r in rates])
        self.pool = conv_bn(cin, cout, 1)
        self.fuse = conv_bn(cout * (len(rates) + 2), cout, 1)

    def forward(self, x):
        feats = [b(x) for b in self.branches]
        g = self.pool(x.mean((2, 3), keepdim=True)).expand(-1, -1, x.shape[2], x.shape[3])
        return self.fuse(torch.cat(feats + [g], 1))


@dataclass(frozen=True)
class SegConfig:
    widths: tuple[int, int, int, int]  # stem, stride-4, stride-8, dilated stride-8
    blocks: tuple[int, int, int]
    context: int
    low: int  # low-level skip width
    decoder: int
    num_classes: int = NUM_CLASSES  # from the data configuration (background included)


TEACHER = SegConfig((32, 64, 128, 192), (2, 2, 2), 128, 48, 128)
STUDENT = SegConfig((16, 16, 24, 32), (1, 1, 1), 32, 16, 32)
STUDENT_WIDE = SegConfig((24, 32, 48, 64), (1, 1, 1), 64, 24, 64)  # 0.31 M: does AttnFD need capacity?


class CBAMSegmenter(nn.Module):
    def __init__(self, cfg: SegConfig):
        super().__init__()
        w = cfg.widths
        self.cfg = cfg
        self.stem = conv_bn(3, w[0], 3, 2)  # /2
        self.layer1 = stage(w[0], w[1], cfg.blocks[0], 2)  # /4
        self.layer2 = stage(w[1], w[2], cfg.blocks[1], 2)  # /8
        self.layer3 = stage(w[2], w[3], cfg.blocks[2], 1, dilation=2)  # /8, wider context
        self.cbam = nn.ModuleDict({'backbone': CBAM(w[3]), 'context': CBAM(cfg.context), 'decoder': CBAM(cfg.decoder)})
        self.aspp = ASPP(w[3], cfg.context)
        self.low = conv_bn(w[1], cfg.low, 1)
        self.decode = nn.Sequential(conv_bn(cfg.context + cfg.low, cfg.decoder), conv_bn(cfg.decoder, cfg.decoder))
        self.classifier = nn.Conv2d(cfg.decoder, cfg.num_classes, 1)

    def site_widths(self) -> dict[str, int]:
        return {'backbone': self.cfg.widths[3], 'context': self.cfg.context, 'decoder': self.cfg.decoder}

    def forward(self, x):
        size = x.shape[2:]
        x = self.stem(x)
        low = self.layer1(x)
        x = self.cbam['backbone'](self.layer3(self.layer2(low)))
        x = self.cbam['context'](self.aspp(x))
        x = F.interpolate(x, size=low.shape[2:], mode='bilinear', align_corners=False)
        x = self.cbam['decoder'](self.decode(torch.cat([x, self.low(low)], 1)))
        return F.interpolate(self.classifier(x), size=size, mode='bilinear', align_corners=False)

    def taps(self) -> dict[str, torch.Tensor]:
        return {f'{site}/{k}': v for site in SITES for k, v in self.cbam[site].last.items()}


class Connector(nn.Module):
    """AttnFD's 1x1 conv + BN that lifts a student site to the teacher's width (training, and exported)."""

    def __init__(self, cin, cout):
        super().__init__()
        self.proj = nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return self.proj(x)


def attnfd_distance(t: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """Per-sample ‖t/‖t‖ − s/‖s‖‖² over C·H·W (= 2 − 2·cosine, in [0, 4]); AttnFD's per-site term."""
    t = F.normalize(t.flatten(1), dim=1)
    s = F.normalize(s.flatten(1), dim=1)
    return (t - s).pow(2).sum(1)
