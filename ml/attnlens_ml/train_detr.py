"""Train the DETR family: H-DETR teacher and student, a one-to-one-only student, a KS-DETR student."""

from __future__ import annotations

import json

import numpy as np
import torch
import torch.nn.functional as F

from .common import to_input
from .dataset import load_boxes, load_split
from .matching import box_cxcywh_to_xyxy, generalized_iou, hungarian_match
from .metrics import coco_box_ap_on_split, detections
from .models.detr import DetrConfig, SmallDETR
from .training import Checkpointer, Job, Schedule, batch_indices, load_weights, train


def augment_boxes(images, classes, boxes, step: int, seed: int):
    """Rotate by 90° k times and flip, applied to images and normalised (cx, cy, w, h) boxes alike."""
    rng = np.random.default_rng([seed, step, 7])
    k = int(rng.integers(0, 4))
    flip = bool(rng.integers(0, 2))
    boxes = boxes.copy()
    images = np.rot90(images, k, axes=(1, 2))
    for _ in range(k):  # np.rot90 (counter-clockwise): (x, y) → (y, 1 − x), w ↔ h
        cx, cy, w, h = boxes[..., 0].copy(), boxes[..., 1].copy(), boxes[..., 2].copy(), boxes[..., 3].copy()
        boxes[..., 0], boxes[..., 1], boxes[..., 2], boxes[..., 3] = cy, 1 - cx, h, w
    if flip:
        images = images[:, :, ::-1]
        boxes[..., 0] = 1 - boxes[..., 0]
    return np.ascontiguousarray(images), classes, boxes


def box_mask(classes: np.ndarray, boxes: np.ndarray, grid: int) -> np.ndarray:
    """KS-DETR's foreground mask: 1 inside any ground-truth box, at the feature grid. [B, grid²]."""
    m = np.zeros((len(classes), grid, grid), np.float32)
    for b in range(len(classes)):
        for c, (cx, cy, w, h) in zip(classes[b], boxes[b]):
            if c < 0:
                continue
            x0, x1 = int(np.floor((cx - w / 2) * grid)), int(np.ceil((cx + w / 2) * grid))
            y0, y1 = int(np.floor((cy - h / 2) * grid)), int(np.ceil((cy + h / 2) * grid))
            m[b, max(y0, 0) : y1, max(x0, 0) : x1] = 1
    return m.reshape(len(classes), -1)


def sigmoid_focal(logits, targets, alpha=0.25, gamma=2.0):
    p = logits.sigmoid()
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction='none')
    pt = p * targets + (1 - p) * (1 - targets)
    return (ce * (1 - pt) ** gamma * (alpha * targets + (1 - alpha) * (1 - targets))).sum()


def set_loss(logits, boxes, gt_classes, gt_boxes, repeat: int) -> torch.Tensor:
    """Matching + focal/L1/GIoU loss of one query block, one decoder layer, summed over the batch."""
    b, q, c = logits.shape
    target = torch.zeros_like(logits)
    l1 = logits.new_zeros(())
    giou = logits.new_zeros(())
    n = 0
    for i in range(b):
        keep = gt_classes[i] >= 0
        gc, gb = gt_classes[i][keep] - 1, gt_boxes[i][keep]
        qi, gi = hungarian_match(logits[i].detach(), boxes[i].detach(), gc, gb, repeat)
        if len(qi) == 0:
            continue
        target[i, qi, gc[gi]] = 1
        l1 = l1 + F.l1_loss(boxes[i, qi], gb[gi], reduction='sum')
        giou = (
            giou + (1 - torch.diag(generalized_iou(box_cxcywh_to_xyxy(boxes[i, qi]), box_cxcywh_to_xyxy(gb[gi])))).sum()
        )
        n += len(qi)
    n = max(n, 1)
    return (2.0 * sigmoid_focal(logits, target) + 5.0 * l1 + 2.0 * giou) / n


def detr_loss(model: SmallDETR, out, gt_classes, gt_boxes, lam: float = 1.0) -> torch.Tensor:
    cfg = model.cfg
    total = 0.0
    if out.get('proposals') is not None:  # two-stage: encoder tokens learn to propose objects (one-to-one)
        total = total + set_loss(*out['proposals'], gt_classes, gt_boxes, 1)
    for stream in out['streams']:
        for logits, boxes in stream:
            total = total + set_loss(logits[:, : cfg.num_o2o], boxes[:, : cfg.num_o2o], gt_classes, gt_boxes, 1)
            if cfg.num_o2m:
                total = total + lam * set_loss(
                    logits[:, cfg.num_o2o :], boxes[:, cfg.num_o2o :], gt_classes, gt_boxes, cfg.k
                )
    return total


def train_detr(name: str, cfg: DetrConfig, steps: int, lr: float = 4e-4, batch: int = 16, seed: int = 0) -> dict:

    def setup(dev) -> Job:
        train_split = load_split('train')
        labels = load_boxes('train')
        model = SmallDETR(cfg).to(dev)
        backbone = [p for n, p in model.named_parameters() if n.startswith('backbone')]
        rest = [p for n, p in model.named_parameters() if not n.startswith('backbone')]

        def loss(step: int):
            idx = batch_indices(len(train_split['images']), batch, step, seed)
            imgs, classes, boxes = augment_boxes(
                train_split['images'][idx], labels['classes'][idx], labels['boxes'][idx], step, seed
            )
            fg = torch.from_numpy(box_mask(classes, boxes, cfg.grid)).to(dev) if cfg.ks else None
            out = model(to_input(imgs, dev).contiguous(), fg_mask=fg)
            total = detr_loss(model, out, torch.from_numpy(classes).to(dev), torch.from_numpy(boxes).to(dev))
            return total, {'loss': total}

        def finish(ck: Checkpointer) -> dict:
            val = evaluate_detr(model, 'val', 150)
            ck.log(f'val {val}')
            return {
                'name': name,
                'steps': steps,
                'batch': batch,
                'lr': lr,
                'seed': seed,
                'config': cfg.__dict__,
                'val': val,
            }

        # Two parameter groups (backbone, rest) at the same rate: an optimiser state only loads into the same
        # groups, so checkpoints of earlier runs still resume.
        return Job(modules={'model': model}, params=[{'params': backbone}, {'params': rest}], loss=loss, finish=finish)

    return train(name, Schedule(steps=steps, lr=lr, seed=seed, warmup=200, weight_decay=1e-4, clip_norm=0.1), setup)


@torch.no_grad()
def evaluate_detr(model: SmallDETR, split: str, n: int | None = None, block: str = 'o2o') -> dict:
    """COCO box AP (metrics.coco_box_ap_on_split) of a PyTorch DETR's one-to-one (or one-to-many) block."""
    model.eval()
    data = load_split(split, n)
    n = len(data['images'])
    cfg = model.cfg
    preds = []
    for i in range(0, n, 25):
        out = model(to_input(data['images'][i : i + 25], next(model.parameters()).device).contiguous())
        logits, boxes = out['streams'][0][-1]
        sl = slice(0, cfg.num_o2o) if block == 'o2o' else slice(cfg.num_o2o, None)
        for b in range(logits.shape[0]):
            preds.append(detections(logits[b, sl].cpu().numpy(), boxes[b, sl].cpu().numpy()))
    return coco_box_ap_on_split(preds, split)


def load_detr(name: str, cfg: DetrConfig) -> SmallDETR:
    return load_weights(SmallDETR(cfg), name)


if __name__ == '__main__':
    print(json.dumps(train_detr('detr-smoke', DetrConfig(), 2, batch=2), indent=1))
