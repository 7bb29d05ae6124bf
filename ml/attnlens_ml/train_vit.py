"""Train the ViT from image-level labels (which part kinds / defects are present) — no pixel labels."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .common import to_input
from .dataset import load_boxes, load_split
from .metrics import pseudo_mask_metrics
from .models.vit import PatchViT, ViTConfig
from .training import Checkpointer, Job, Schedule, augment, batch_indices, finished, load_weights, train

VIT = ViTConfig(dim=64, depth=5, heads=4)
# Training reports keep the key names that done.json files of earlier runs carry (the pipeline and the cards
# read them); the zoo's measurements use metrics.pseudo_mask_metrics' own names.
_REPORT_KEYS = {
    'dino_iou_last_layer': 'dino_iou_last_layer_head_mean',
    'dino_iou_per_layer': 'dino_iou_per_layer_head_mean',
    'cst_iou': 'cst_iou_bilinear',
    'ceiling_patch_iou': 'ceiling_best_patch_mask_iou',
}


@torch.no_grad()
def pseudo_mask_report(
    model: PatchViT,
    images: np.ndarray,
    semantic: np.ndarray,
    dev,
    batch: int = 50,
    mass: float = 0.6,
    score: float = 0.4,
) -> dict:
    """Foreground IoU of DINO-style and CST-style pseudo-masks per layer, next to baselines and the ceiling."""
    model.eval()
    rows_all, cos_all = [], []
    for i in range(0, len(images), batch):
        _, rows, cos = model(to_input(images[i : i + batch], dev))
        rows_all.append(rows.cpu().numpy())
        cos_all.append(cos.cpu().numpy())
    m = pseudo_mask_metrics(
        np.concatenate(rows_all),
        np.concatenate(cos_all),
        semantic,
        model.cfg.patch,
        mass,
        score,
        per_head=True,
        oracles=False,
        digits=None,
    )
    return {_REPORT_KEYS.get(k, k): v for k, v in m.items()}


def train_vit(
    name: str,
    cfg: ViTConfig,
    steps: int,
    lr: float,
    batch: int = 32,
    seed: int = 0,
    split: str = 'train',
    count_weight: float = 0.0,
) -> dict:
    """count_weight > 0 adds a training-only head that predicts how many parts of each kind are on the belt
    (Poisson loss; image-level counts, still no pixel labels). Presence needs one instance per kind, so
    attention-MIL can settle on the most telling part; a count needs every instance in the pool."""

    def setup(dev) -> Job:
        train_split = load_split(split)
        val = load_split('val', 100)
        model = PatchViT(cfg).to(dev)
        modules: dict[str, torch.nn.Module] = {'model': model}
        if count_weight > 0:
            classes = load_boxes(split)['classes']  # [N, MAX_OBJECTS], ids 1..num_labels, −1 padding
            counts = np.stack([(classes == c + 1).sum(1) for c in range(cfg.num_labels)], 1).astype(np.float32)
            modules['count_head'] = torch.nn.Linear(cfg.dim, cfg.num_labels).to(dev)

        def loss(step: int):
            idx = batch_indices(len(train_split['images']), batch, step, seed)
            imgs, _ = augment(train_split['images'][idx], None, step, seed)
            logits, _, _, pooled = model(to_input(imgs, dev).contiguous(), return_pooled=True)
            total = F.binary_cross_entropy_with_logits(logits, torch.from_numpy(train_split['present'][idx]).to(dev))
            if count_weight > 0:
                total = total + count_weight * F.poisson_nll_loss(
                    modules['count_head'](pooled), torch.from_numpy(counts[idx]).to(dev)
                )
            return total, {'loss': total}

        def validate() -> str:
            r = pseudo_mask_report(model, val['images'], val['semantic'], dev)
            return (
                f'val dino-iou per layer {np.round(r["dino_iou_per_layer_head_mean"], 3).tolist()} '
                f'cst {r["cst_iou_bilinear"]:.3f}'
            )

        def finish(ck: Checkpointer) -> dict:
            report = pseudo_mask_report(model, val['images'], val['semantic'], dev)
            ck.log(f'final val {report}')
            return {
                'name': name,
                'steps': steps,
                'batch': batch,
                'lr': lr,
                'seed': seed,
                'train_split': split,
                'count_weight': count_weight,
                'config': cfg.__dict__,
                'val': report,
            }

        return Job(
            modules=modules,
            params=[p for m in modules.values() for p in m.parameters()],
            loss=loss,
            finish=finish,
            validate=validate,
        )

    return train(
        name,
        Schedule(steps=steps, lr=lr, seed=seed, warmup=150, weight_decay=0.05, clip_norm=1.0, validate_every=300),
        setup,
    )


def load_vit(name: str, cfg: ViTConfig | None = None) -> PatchViT:
    """A trained run's ViT, built with the configuration the run recorded."""
    done = finished(name)
    cfg = cfg or (ViTConfig(**done['config']) if done and 'config' in done else VIT)
    return load_weights(PatchViT(cfg), name)
