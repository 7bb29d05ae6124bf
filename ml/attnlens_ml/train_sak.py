"""Train the SAK student from two teachers (CBAM segmenter, ViT) plus the task labels."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .common import Checkpointer, batch_indices, cosine_lr, device, to_input
from .dataset import load_split
from .metrics import confusion_matrix, iou_from_confusion
from .models.sak import SAKConfig, SAKStudent, feature_loss
from .train_seg import class_weights


@torch.no_grad()
def teacher_features(seg_teacher, vit, images: np.ndarray, dev, batch: int = 50) -> list[torch.Tensor]:
    """Each teacher's feature map for every image, fp16 on the CPU: [N, C_t, 20, 20] per teacher.
    Computed once: the student trains without augmentation so the targets stay exact."""
    seg_feats, vit_feats = [], []
    for i in range(0, len(images), batch):
        x = to_input(images[i:i + batch], dev)
        seg_teacher(x)
        seg_feats.append(seg_teacher.cbam["context"].last["refined"].half().cpu())
        tokens = vit.patch_tokens(x.contiguous())
        g = vit.cfg.grid
        vit_feats.append(tokens.transpose(1, 2).reshape(len(x), -1, g, g).half().cpu())
    return [torch.cat(seg_feats), torch.cat(vit_feats)]


def train_sak(name: str, seg_teacher, vit, steps: int, lr: float = 3e-3, batch: int = 16, seed: int = 0,
              cfg: SAKConfig = SAKConfig()) -> dict:
    ck = Checkpointer(name)
    if ck.done:
        return ck.done
    dev = device()
    torch.manual_seed(seed)
    train = load_split("train")
    seg_teacher, vit = seg_teacher.to(dev).eval(), vit.to(dev).eval()
    model = SAKStudent(cfg).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    state = {"model": model, "opt": opt}
    start = ck.resume(state)
    targets = teacher_features(seg_teacher, vit, train["images"], dev)
    weights = class_weights(train["semantic"]).to(dev)
    for step in range(start, steps):
        for g in opt.param_groups:
            g["lr"] = cosine_lr(step, steps, lr)
        model.train()
        idx = batch_indices(len(train["images"]), batch, step, seed)
        seg, labels, _, projected = model(to_input(train["images"][idx], dev))
        y = torch.from_numpy(train["semantic"][idx].astype(np.int64)).to(dev)
        task = F.cross_entropy(seg, y, weight=weights) + F.binary_cross_entropy_with_logits(
            labels, torch.from_numpy(train["present"][idx]).to(dev))
        feat = sum(feature_loss(p, t[idx].to(dev).float()) for p, t in zip(projected, targets))
        loss = task + feat
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 50 == 0:
            ck.log(f"step {step}/{steps} task {task.item():.4f} feat {feat.item():.4f}")
        ck.maybe_save(step + 1, state)
    val = evaluate_sak(model, "val")
    ck.log(f"val {val}")
    return ck.finish(model, {"name": name, "steps": steps, "batch": batch, "lr": lr, "seed": seed, "val": val})


def label_metrics(logits: np.ndarray, present: np.ndarray) -> dict:
    """Image-level labels: exact-match accuracy and per-label accuracy at sigmoid 0.5."""
    pred = logits > 0
    truth = present > 0.5
    return {"exact_match": round(float((pred == truth).all(1).mean()), 6),
            "label_accuracy": round(float((pred == truth).mean()), 6)}


@torch.no_grad()
def evaluate_sak(model: SAKStudent, split: str, n: int | None = None) -> dict:
    model.eval()
    data = load_split(split, n)
    dev = next(model.parameters()).device
    conf = np.zeros((7, 7), np.int64)
    logits, router = [], []
    for i in range(0, len(data["images"]), 50):
        seg, lab, w, _ = model(to_input(data["images"][i:i + 50], dev))
        conf += confusion_matrix(data["semantic"][i:i + 50], seg.argmax(1).cpu().numpy(), 7)
        logits.append(lab.cpu().numpy())
        router.append(w.cpu().numpy())
    return {"miou": round(float(np.nanmean(iou_from_confusion(conf))), 6),
            **label_metrics(np.concatenate(logits), data["present"]),
            "router_mean": np.concatenate(router).mean(0).round(4).tolist()}


def load_sak(name: str, cfg: SAKConfig = SAKConfig()) -> SAKStudent:
    m = SAKStudent(cfg)
    m.load_state_dict(torch.load(Checkpointer(name).dir / "model.pt", map_location="cpu"))
    return m.eval()
