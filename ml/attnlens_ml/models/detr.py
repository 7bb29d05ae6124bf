"""A small DETR with anchor queries (DAB-style), hybrid matching (H-DETR) and knowledge sharing (KS-DETR).

- Queries carry learnable anchor boxes refined layer by layer; every decoder layer is supervised (aux loss):
  what made the probe converge on a CPU (measured.md).
- Hybrid matching: a one-to-one block (num_o2o queries) and a one-to-many block (num_o2m) share the decoder;
  a boolean self-attention mask stops the blocks seeing each other in every decoder layer.
- KS-DETR: the last encoder layer runs three streams when given the ground-truth foreground mask m:
  x_t = x·(1−m) + m·ReLU(Linear(x)); A = softmax(q kᵀ) from x, A_t from x_t;
  outputs A·V (student), A_t·V (teacher attention), A·V_t (teacher values); all three go through the decoder.
  Without a mask (inference, export) only the student stream runs.
All attention is computed explicitly so the exported graph carries the weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..data import NUM_LABELS
from .cbam_seg import conv_bn, stage


@dataclass(frozen=True)
class DetrConfig:
    widths: tuple[int, int, int] = (32, 64, 128)
    blocks: tuple[int, int] = (2, 2)
    dim: int = 128
    heads: int = 4
    enc_layers: int = 2
    dec_layers: int = 3
    ffn: int = 256
    num_o2o: int = 50
    num_o2m: int = 150
    k: int = 3
    ks: bool = False
    two_stage: bool = True  # decoder anchors = boxes of the top-scoring encoder tokens (Deformable DETR's two-stage)
    num_classes: int = NUM_LABELS  # the foreground classes of the data configuration (ids 1..NUM_LABELS)
    image: int = 160

    @property
    def grid(self) -> int:
        return self.image // 8


def sine_embed_2d(h: int, w: int, dim: int) -> torch.Tensor:
    """Fixed DETR sine position embedding [h·w, dim]."""
    y, x = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing='ij')
    return torch.cat([_sine(y.flatten() / h, dim // 2), _sine(x.flatten() / w, dim // 2)], -1)


def _sine(v: torch.Tensor, dim: int) -> torch.Tensor:
    freq = 10000 ** (2 * (torch.arange(dim // 2, dtype=torch.float32)) / dim)
    a = v[..., None] * 2 * math.pi / freq
    return torch.cat([a.sin(), a.cos()], -1)


def inverse_sigmoid(x: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    x = x.clamp(eps, 1 - eps)
    return torch.log(x / (1 - x))


class MHA(nn.Module):
    """Multi-head attention with explicit softmax; returns (output, weights [B, heads, Lq, Lk])."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.o = nn.Linear(dim, dim)

    def split(self, x):
        b, n, d = x.shape
        return x.reshape(b, n, self.heads, d // self.heads).transpose(1, 2)

    def weights(self, q, k, mask=None):
        q, k = self.split(self.q(q)), self.split(self.k(k))
        logits = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
        if mask is not None:
            logits = logits.masked_fill(mask, -1e4)
        return logits.softmax(-1)

    def apply(self, attn, v):
        b, _, n, _ = attn.shape
        out = attn @ self.split(self.v(v))
        return self.o(out.transpose(1, 2).reshape(b, n, -1))

    def forward(self, q, k, v, mask=None):
        attn = self.weights(q, k, mask)
        return self.apply(attn, v), attn


class EncoderLayer(nn.Module):
    def __init__(self, cfg: DetrConfig, ks: bool = False):
        super().__init__()
        self.attn = MHA(cfg.dim, cfg.heads)
        self.n1 = nn.LayerNorm(cfg.dim)
        self.ffn = nn.Sequential(nn.Linear(cfg.dim, cfg.ffn), nn.ReLU(), nn.Linear(cfg.ffn, cfg.dim))
        self.n2 = nn.LayerNorm(cfg.dim)
        self.teacher_in = nn.Linear(cfg.dim, cfg.dim) if ks else None

    def finish(self, x, a):
        x = self.n1(x + a)
        return self.n2(x + self.ffn(x))

    def forward(self, x, pos, fg_mask=None):
        """→ (list of memories: [student] or [student, teacher-attention, teacher-values], weights)."""
        attn = self.attn.weights(x + pos, x + pos)
        out = [self.finish(x, self.attn.apply(attn, x))]
        if self.teacher_in is not None and fg_mask is not None:
            m = fg_mask[..., None]
            xt = x * (1 - m) + m * F.relu(self.teacher_in(x))
            attn_t = self.attn.weights(xt + pos, xt + pos)
            out.append(self.finish(x, self.attn.apply(attn_t, x)))  # teacher attention, shared values
            out.append(self.finish(x, self.attn.apply(attn, xt)))  # student attention, teacher values
        return out, attn


class DecoderLayer(nn.Module):
    def __init__(self, cfg: DetrConfig):
        super().__init__()
        self.self_attn = MHA(cfg.dim, cfg.heads)
        self.cross = MHA(cfg.dim, cfg.heads)
        self.n1 = nn.LayerNorm(cfg.dim)
        self.n2 = nn.LayerNorm(cfg.dim)
        self.n3 = nn.LayerNorm(cfg.dim)
        self.ffn = nn.Sequential(nn.Linear(cfg.dim, cfg.ffn), nn.ReLU(), nn.Linear(cfg.ffn, cfg.dim))

    def forward(self, tgt, qpos, memory, pos, self_mask):
        q = tgt + qpos
        tgt = self.n1(tgt + self.self_attn(q, q, tgt, self_mask)[0])
        a, w = self.cross(tgt + qpos, memory + pos, memory)
        tgt = self.n2(tgt + a)
        return self.n3(tgt + self.ffn(tgt)), w


class MLP(nn.Module):
    def __init__(self, i, h, o, n=2):
        super().__init__()
        dims = [i] + [h] * (n - 1) + [o]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))

    def forward(self, x):
        for i, l in enumerate(self.layers):
            x = l(x) if i == len(self.layers) - 1 else F.relu(l(x))
        return x


class SmallDETR(nn.Module):
    def __init__(self, cfg: DetrConfig):
        super().__init__()
        self.cfg = cfg
        w = cfg.widths
        self.backbone = nn.Sequential(
            conv_bn(3, w[0], 3, 2), stage(w[0], w[1], cfg.blocks[0], 2), stage(w[1], w[2], cfg.blocks[1], 2)
        )  # stride 8
        self.proj = nn.Conv2d(w[2], cfg.dim, 1)
        self.register_buffer('pos', sine_embed_2d(cfg.grid, cfg.grid, cfg.dim)[None], persistent=False)
        self.encoder = nn.ModuleList(
            EncoderLayer(cfg, ks=cfg.ks and i == cfg.enc_layers - 1) for i in range(cfg.enc_layers)
        )
        self.decoder = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.dec_layers))
        nq = cfg.num_o2o + cfg.num_o2m
        self.content = nn.Embedding(nq, cfg.dim)
        self.anchors = nn.Embedding(nq, 4)
        with torch.no_grad():  # anchors start spread over the image, small, as objects here are small
            g = torch.rand(nq, 2)
            self.anchors.weight.copy_(inverse_sigmoid(torch.cat([g, torch.full((nq, 2), 0.1)], 1)))
        self.query_pos = MLP(2 * cfg.dim, cfg.dim, cfg.dim)
        self.cls = nn.Linear(cfg.dim, cfg.num_classes)
        self.box = MLP(cfg.dim, cfg.dim, 4, 3)
        prior = -math.log((1 - 0.01) / 0.01)
        nn.init.constant_(self.cls.bias, prior)
        nn.init.zeros_(self.box.layers[-1].weight)
        nn.init.zeros_(self.box.layers[-1].bias)
        # Two-stage proposals: every encoder token predicts a class and a box around its own cell.
        self.enc_cls = nn.Linear(cfg.dim, cfg.num_classes)
        self.enc_box = MLP(cfg.dim, cfg.dim, 4, 3)
        nn.init.constant_(self.enc_cls.bias, prior)
        nn.init.zeros_(self.enc_box.layers[-1].weight)
        nn.init.zeros_(self.enc_box.layers[-1].bias)
        g = cfg.grid
        ys, xs = torch.meshgrid(
            torch.arange(g, dtype=torch.float32), torch.arange(g, dtype=torch.float32), indexing='ij'
        )
        cells = torch.stack(
            [
                (xs.flatten() + 0.5) / g,
                (ys.flatten() + 0.5) / g,
                torch.full((g * g,), 0.06),
                torch.full((g * g,), 0.06),
            ],
            -1,
        )
        self.register_buffer('cell_anchors', inverse_sigmoid(cells), persistent=False)
        mask = torch.zeros(nq, nq, dtype=torch.bool)
        mask[: cfg.num_o2o, cfg.num_o2o :] = True
        mask[cfg.num_o2o :, : cfg.num_o2o] = True
        self.register_buffer('block_mask', mask, persistent=False)

    def forward(self, x, fg_mask=None, with_o2m: bool = True):
        """fg_mask [B, grid²] (KS-DETR training only). Returns a dict of per-stream, per-layer predictions:
        out["streams"][s] = list over decoder layers of (logits [B,Q,C], boxes [B,Q,4]);
        out["cross_attention"] = last decoder layer's head-mean cross-attention of the student stream [B,Q,N];
        out["encoder_attention"] = last encoder layer's attention [B,heads,N,N]."""
        b = x.shape[0]
        feat = self.proj(self.backbone(x)).flatten(2).transpose(1, 2)
        pos = self.pos.expand(b, -1, -1)
        memories = [feat]
        enc_attn = None
        for i, layer in enumerate(self.encoder):
            mem, enc_attn = layer(memories[0], pos, fg_mask if i == len(self.encoder) - 1 else None)
            memories = mem
        nq = self.cfg.num_o2o + (self.cfg.num_o2m if with_o2m else 0)
        self_mask = self.block_mask[:nq, :nq]
        proposals = None
        if self.cfg.two_stage:
            enc_logits = self.enc_cls(memories[0])
            enc_boxes = (self.cell_anchors + self.enc_box(memories[0])).sigmoid()
            proposals = (enc_logits, enc_boxes)
            score = enc_logits.max(-1).values
            refs = []
            for n in [self.cfg.num_o2o] + ([self.cfg.num_o2m] if nq > self.cfg.num_o2o else []):
                idx = score.topk(n, dim=1).indices  # each block selects its own proposals
                refs.append(torch.gather(enc_boxes, 1, idx[..., None].expand(-1, -1, 4)))
            ref0 = torch.cat(refs, 1).detach()
        else:
            ref0 = self.anchors.weight[:nq][None].expand(b, -1, -1).sigmoid()
        streams = []
        cross = None
        for si, memory in enumerate(memories):
            tgt = self.content.weight[:nq][None].expand(b, -1, -1)
            ref = ref0
            layers = []
            for layer in self.decoder:
                qpos = self.query_pos(_sine(ref, self.cfg.dim // 2).flatten(-2))  # anchor → position query
                tgt, w = layer(tgt, qpos, memory, pos, self_mask)
                boxes = (inverse_sigmoid(ref) + self.box(tgt)).sigmoid()
                layers.append((self.cls(tgt), boxes))
                ref = boxes.detach()
                if si == 0:
                    cross = w.mean(1)
            streams.append(layers)
        return {'streams': streams, 'cross_attention': cross, 'encoder_attention': enc_attn, 'proposals': proposals}


TEACHER_DETR = DetrConfig(
    widths=(24, 48, 96), blocks=(1, 2), dim=96, heads=4, enc_layers=2, ffn=192, num_o2o=40, num_o2m=120
)
STUDENT_DETR = DetrConfig(
    widths=(16, 32, 48), blocks=(1, 1), dim=64, heads=4, enc_layers=1, ffn=128, num_o2o=40, num_o2m=120
)
