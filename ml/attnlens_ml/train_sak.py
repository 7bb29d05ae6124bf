"""Train the SAK student from two teachers (CBAM segmenter, ViT) plus the task labels."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .common import to_input
from .data import NUM_CLASSES
from .dataset import load_split
from .metrics import confusion_matrix, label_metrics, mean_iou
from .models.sak import SAKConfig, SAKStudent, feature_loss
from .train_seg import class_weights
from .training import Checkpointer, Job, Schedule, batch_indices, load_weights, train


@torch.no_grad()
def teacher_features(seg_teacher, vit, images: np.ndarray, dev, batch: int = 50) -> list[torch.Tensor]:
    """Each teacher's feature map for every image, fp16 on the CPU: [N, C_t, 20, 20] per teacher.
    Computed once: the student trains without augmentation so the targets stay exact."""
    seg_feats, vit_feats = [], []
    for i in range(0, len(images), batch):
        x = to_input(images[i : i + batch], dev)
        seg_teacher(x)
        seg_feats.append(seg_teacher.cbam['context'].last['refined'].half().cpu())
        tokens = vit.patch_tokens(x.contiguous())
        g = vit.cfg.grid
        vit_feats.append(tokens.transpose(1, 2).reshape(len(x), -1, g, g).half().cpu())
    return [torch.cat(seg_feats), torch.cat(vit_feats)]


def router_balance_loss(weights: torch.Tensor) -> torch.Tensor:
    """The mixture-of-experts importance loss (Shazeer et al. 2017): the squared coefficient of variation of each
    path's total router weight over the batch — 0 when every path gets the same share, 2 when one of three takes
    it all. Router weights [B, P]."""
    importance = weights.sum(0)
    return importance.var(unbiased=False) / importance.mean() ** 2


def train_sak(
    name: str,
    seg_teacher,
    vit,
    steps: int,
    lr: float = 3e-3,
    batch: int = 16,
    seed: int = 0,
    cfg: SAKConfig = SAKConfig(),
    balance: float = 0.0,
    targets: list[torch.Tensor] | None = None,
) -> dict:
    """balance > 0 adds balance · router_balance_loss to the loss. `targets`: the teachers' features of every
    training image, computed already (then the teachers may be None)."""

    def setup(dev) -> Job:
        train_split = load_split('train')
        model = SAKStudent(cfg).to(dev)
        feats = targets
        if feats is None:
            feats = teacher_features(seg_teacher.to(dev).eval(), vit.to(dev).eval(), train_split['images'], dev)
        weights = class_weights(train_split['semantic']).to(dev)

        def loss(step: int):
            idx = batch_indices(len(train_split['images']), batch, step, seed)
            seg, labels, router, projected = model(to_input(train_split['images'][idx], dev))
            y = torch.from_numpy(train_split['semantic'][idx].astype(np.int64)).to(dev)
            task = F.cross_entropy(seg, y, weight=weights) + F.binary_cross_entropy_with_logits(
                labels, torch.from_numpy(train_split['present'][idx]).to(dev)
            )
            feat = sum(feature_loss(p, t[idx].to(dev).float()) for p, t in zip(projected, feats))
            if not balance:
                return task + feat, {'task': task, 'feat': feat}
            bal = router_balance_loss(router)
            return task + feat + balance * bal, {'task': task, 'feat': feat, 'balance': bal}

        def finish(ck: Checkpointer) -> dict:
            val = evaluate_sak(model, 'val')
            ck.log(f'val {val}')
            return {
                'name': name,
                'steps': steps,
                'batch': batch,
                'lr': lr,
                'seed': seed,
                **({'balance': balance} if balance else {}),
                'val': val,
            }

        return Job(modules={'model': model}, params=model.parameters(), loss=loss, finish=finish)

    return train(name, Schedule(steps=steps, lr=lr, seed=seed, weight_decay=1e-4), setup)


@torch.no_grad()
def evaluate_sak(model: SAKStudent, split: str, n: int | None = None) -> dict:
    """Segmentation mIoU and image-label accuracy (metrics.mean_iou, metrics.label_metrics), router mean."""
    model.eval()
    data = load_split(split, n)
    dev = next(model.parameters()).device
    conf = np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64)
    logits, router = [], []
    for i in range(0, len(data['images']), 50):
        seg, lab, w, _ = model(to_input(data['images'][i : i + 50], dev))
        conf += confusion_matrix(data['semantic'][i : i + 50], seg.argmax(1).cpu().numpy())
        logits.append(lab.cpu().numpy())
        router.append(w.cpu().numpy())
    return {
        'miou': round(mean_iou(conf), 6),
        **label_metrics(np.concatenate(logits), data['present']),
        'router_mean': np.concatenate(router).mean(0).round(4).tolist(),
    }


def load_sak(name: str, cfg: SAKConfig = SAKConfig()) -> SAKStudent:
    return load_weights(SAKStudent(cfg), name)
