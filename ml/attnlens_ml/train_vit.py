"""Train the ViT from image-level labels (which part kinds / defects are present) — no pixel labels."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .common import Checkpointer, augment, batch_indices, cosine_lr, device, to_input
from .dataset import load_boxes, load_split
from .metrics import (best_patch_mask, cst_score_mask, dino_mass_mask, mask_iou, upsample_bilinear,
                      upsample_patch_mask)
from .models.vit import PatchViT, ViTConfig

VIT = ViTConfig(dim=64, depth=5, heads=4)


@torch.no_grad()
def pseudo_mask_report(model: PatchViT, images: np.ndarray, semantic: np.ndarray, dev, batch: int = 50,
                       mass: float = 0.6, score: float = 0.4) -> dict:
    """Foreground IoU of DINO-style and CST-style pseudo-masks per layer, next to baselines and the ceiling."""
    model.eval()
    cfg = model.cfg
    grid = (cfg.grid, cfg.grid)
    size = semantic.shape[1:]
    fg = semantic > 0
    yy, xx = np.mgrid[0:size[0], 0:size[1]]
    centre = ((yy - size[0] / 2) ** 2 + (xx - size[1] / 2) ** 2) < (0.35 * size[0]) ** 2  # disc ≈ 38 % of pixels
    rows_all, cos_all = [], []
    for i in range(0, len(images), batch):
        _, rows, cos = model(to_input(images[i:i + batch], dev))
        rows_all.append(rows.cpu().numpy())
        cos_all.append(cos.cpu().numpy())
    rows = np.concatenate(rows_all)  # [B, L, H, N]
    cos = np.concatenate(cos_all)  # [B, H, N]
    per_layer = []
    for layer in range(rows.shape[1]):
        ious = [mask_iou(upsample_patch_mask(dino_mass_mask(rows[b, layer].mean(0, keepdims=True), mass)[0],
                                             grid, cfg.patch), fg[b]) for b in range(len(fg))]
        per_layer.append(float(np.mean(ious)))
    per_head = [float(np.mean([mask_iou(upsample_patch_mask(dino_mass_mask(rows[b, -1, h][None], mass)[0], grid,
                                                            cfg.patch), fg[b]) for b in range(len(fg))]))
                for h in range(rows.shape[2])]
    cst = [mask_iou(upsample_bilinear((cos[b].mean(0) + 1) / 2, grid, size) > score, fg[b]) for b in range(len(fg))]
    cst_patch = [mask_iou(upsample_patch_mask(cst_score_mask(cos[b], score), grid, cfg.patch), fg[b])
                 for b in range(len(fg))]
    ceiling = [mask_iou(upsample_patch_mask(best_patch_mask(fg[b], cfg.patch), grid, cfg.patch), fg[b])
               for b in range(len(fg))]
    return {
        "images": int(len(fg)),
        "dino_mass": mass,
        "dino_iou_last_layer_head_mean": per_layer[-1],
        "dino_iou_per_layer_head_mean": per_layer,
        "dino_iou_last_layer_per_head": per_head,
        "cst_score": score,
        "cst_iou_bilinear": float(np.mean(cst)),
        "cst_iou_patch_nearest": float(np.mean(cst_patch)),
        "baseline_whole_image_iou": float(np.mean([mask_iou(np.ones_like(f), f) for f in fg])),
        "baseline_centre_disc_iou": float(np.mean([mask_iou(centre, f) for f in fg])),
        "ceiling_best_patch_mask_iou": float(np.mean(ceiling)),
    }


def train_vit(name: str, cfg: ViTConfig, steps: int, lr: float, batch: int = 32, seed: int = 0,
              split: str = "train", count_weight: float = 0.0) -> dict:
    """count_weight > 0 adds a training-only head that predicts how many parts of each kind are on the belt
    (Poisson loss; image-level counts, still no pixel labels). Presence needs one instance per kind, so
    attention-MIL can settle on the most telling part; a count needs every instance in the pool."""
    ck = Checkpointer(name)
    if ck.done:
        return ck.done
    dev = device()
    torch.manual_seed(seed)
    train = load_split(split)
    val = load_split("val", 100)
    model = PatchViT(cfg).to(dev)
    state = {"model": model}
    if count_weight > 0:
        classes = load_boxes(split)["classes"]  # [N, MAX_OBJECTS], ids 1..6, −1 padding
        counts = np.stack([(classes == c + 1).sum(1) for c in range(cfg.num_labels)], 1).astype(np.float32)
        state["count_head"] = count_head = torch.nn.Linear(cfg.dim, cfg.num_labels).to(dev)
    opt = torch.optim.AdamW([p for m in state.values() for p in m.parameters()], lr=lr, weight_decay=0.05)
    state["opt"] = opt
    start = ck.resume(state)
    for step in range(start, steps):
        for g in opt.param_groups:
            g["lr"] = cosine_lr(step, steps, lr, warmup=150)
        model.train()
        idx = batch_indices(len(train["images"]), batch, step, seed)
        imgs, _ = augment(train["images"][idx], None, step, seed)
        logits, _, _, pooled = model(to_input(imgs, dev).contiguous(), return_pooled=True)
        loss = F.binary_cross_entropy_with_logits(logits, torch.from_numpy(train["present"][idx]).to(dev))
        if count_weight > 0:
            loss = loss + count_weight * F.poisson_nll_loss(count_head(pooled), torch.from_numpy(counts[idx]).to(dev))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 50 == 0:
            ck.log(f"step {step}/{steps} bce {loss.item():.4f}")
        if step % 300 == 0 and step:
            r = pseudo_mask_report(model, val["images"], val["semantic"], dev)
            ck.log(f"val dino-iou per layer {np.round(r['dino_iou_per_layer_head_mean'], 3).tolist()} "
                   f"cst {r['cst_iou_bilinear']:.3f}")
        ck.maybe_save(step + 1, state)
    report = pseudo_mask_report(model, val["images"], val["semantic"], dev)
    ck.log(f"final val {report}")
    return ck.finish(model, {"name": name, "steps": steps, "batch": batch, "lr": lr, "seed": seed,
                             "train_split": split, "count_weight": count_weight, "config": cfg.__dict__, "val": report})


def load_vit(name: str, cfg: ViTConfig | None = None) -> PatchViT:
    """A trained run's ViT, built with the configuration the run recorded."""
    ck = Checkpointer(name)
    cfg = cfg or (ViTConfig(**ck.done["config"]) if ck.done and "config" in ck.done else VIT)
    m = PatchViT(cfg)
    m.load_state_dict(torch.load(Checkpointer(name).dir / "model.pt", map_location="cpu"))
    return m.eval()
