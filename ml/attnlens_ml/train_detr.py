"""Train the DETR family: H-DETR teacher and student, a one-to-one-only student, a KS-DETR student."""
from __future__ import annotations

import json

import numpy as np
import torch
import torch.nn.functional as F

from .common import Checkpointer, batch_indices, cosine_lr, device, to_input
from .dataset import IMAGE_SIZE, load_boxes, load_split
from .matching import box_cxcywh_to_xyxy, generalized_iou, hungarian_match
from .models.detr import DetrConfig, SmallDETR


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
            m[b, max(y0, 0):y1, max(x0, 0):x1] = 1
    return m.reshape(len(classes), -1)


def sigmoid_focal(logits, targets, alpha=0.25, gamma=2.0):
    p = logits.sigmoid()
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
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
        l1 = l1 + F.l1_loss(boxes[i, qi], gb[gi], reduction="sum")
        giou = giou + (1 - torch.diag(generalized_iou(box_cxcywh_to_xyxy(boxes[i, qi]), box_cxcywh_to_xyxy(gb[gi])))).sum()
        n += len(qi)
    n = max(n, 1)
    return (2.0 * sigmoid_focal(logits, target) + 5.0 * l1 + 2.0 * giou) / n


def detr_loss(model: SmallDETR, out, gt_classes, gt_boxes, lam: float = 1.0) -> torch.Tensor:
    cfg = model.cfg
    total = 0.0
    if out.get("proposals") is not None:  # two-stage: encoder tokens learn to propose objects (one-to-one)
        total = total + set_loss(*out["proposals"], gt_classes, gt_boxes, 1)
    for stream in out["streams"]:
        for logits, boxes in stream:
            total = total + set_loss(logits[:, :cfg.num_o2o], boxes[:, :cfg.num_o2o], gt_classes, gt_boxes, 1)
            if cfg.num_o2m:
                total = total + lam * set_loss(logits[:, cfg.num_o2o:], boxes[:, cfg.num_o2o:], gt_classes, gt_boxes, cfg.k)
    return total


def train_detr(name: str, cfg: DetrConfig, steps: int, lr: float = 4e-4, batch: int = 16, seed: int = 0) -> dict:
    ck = Checkpointer(name)
    if ck.done:
        return ck.done
    dev = device()
    torch.manual_seed(seed)
    train = load_split("train")
    labels = load_boxes("train")
    model = SmallDETR(cfg).to(dev)
    backbone = [p for n, p in model.named_parameters() if n.startswith("backbone")]
    rest = [p for n, p in model.named_parameters() if not n.startswith("backbone")]
    opt = torch.optim.AdamW([{"params": backbone, "lr_scale": 1.0}, {"params": rest, "lr_scale": 1.0}],
                            lr=lr, weight_decay=1e-4)
    state = {"model": model, "opt": opt}
    start = ck.resume(state)
    for step in range(start, steps):
        for g in opt.param_groups:
            g["lr"] = cosine_lr(step, steps, lr, warmup=200)
        model.train()
        idx = batch_indices(len(train["images"]), batch, step, seed)
        imgs, classes, boxes = augment_boxes(train["images"][idx], labels["classes"][idx], labels["boxes"][idx], step, seed)
        fg = torch.from_numpy(box_mask(classes, boxes, cfg.grid)).to(dev) if cfg.ks else None
        out = model(to_input(imgs, dev).contiguous(), fg_mask=fg)
        loss = detr_loss(model, out, torch.from_numpy(classes).to(dev), torch.from_numpy(boxes).to(dev))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        opt.step()
        if step % 50 == 0:
            ck.log(f"step {step}/{steps} loss {loss.item():.3f}")
        ck.maybe_save(step + 1, state)
    val = evaluate_detr(model, "val", 150)
    ck.log(f"val {val}")
    return ck.finish(model, {"name": name, "steps": steps, "batch": batch, "lr": lr, "seed": seed,
                             "config": cfg.__dict__, "val": val})


def detections(logits: np.ndarray, boxes: np.ndarray, top: int = 100):
    """DETR inference on one image's one-to-one block: the top (query, class) pairs by sigmoid score.
    → (scores, class ids 1..C, boxes cxcywh normalised)."""
    prob = 1 / (1 + np.exp(-logits))
    flat = prob.ravel()
    order = np.argsort(-flat)[:top]
    q, c = np.divmod(order, logits.shape[1])
    return flat[order], c + 1, boxes[q]


def coco_eval(preds: list[tuple[np.ndarray, np.ndarray, np.ndarray]], split: str, n: int) -> dict:
    """COCO box AP / AP50 (pycocotools) of per-image (scores, classes, boxes) against the split's boxes."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    import contextlib
    import io

    labels = load_boxes(split, n)
    images, anns, dets = [], [], []
    for i in range(n):
        images.append({"id": i + 1, "width": IMAGE_SIZE, "height": IMAGE_SIZE})
        for c, (cx, cy, w, h) in zip(labels["classes"][i], labels["boxes"][i]):
            if c < 0:
                continue
            bw, bh = w * IMAGE_SIZE, h * IMAGE_SIZE
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": int(c), "iscrowd": 0,
                         "bbox": [(cx - w / 2) * IMAGE_SIZE, (cy - h / 2) * IMAGE_SIZE, bw, bh], "area": bw * bh})
        scores, classes, boxes = preds[i]
        for s, c, (cx, cy, w, h) in zip(scores, classes, boxes):
            dets.append({"image_id": i + 1, "category_id": int(c), "score": float(s),
                         "bbox": [float((cx - w / 2) * IMAGE_SIZE), float((cy - h / 2) * IMAGE_SIZE),
                                  float(w * IMAGE_SIZE), float(h * IMAGE_SIZE)]})
    gt = COCO()
    gt.dataset = {"images": images, "annotations": anns, "categories": [{"id": k} for k in range(1, 7)]}
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        dt = gt.loadRes(dets) if dets else COCO()
        ev = COCOeval(gt, dt, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {"ap": round(float(ev.stats[0]), 6), "ap50": round(float(ev.stats[1]), 6),
            "ap75": round(float(ev.stats[2]), 6), "ap_small": round(float(ev.stats[3]), 6), "images": n}


@torch.no_grad()
def evaluate_detr(model: SmallDETR, split: str, n: int | None = None, block: str = "o2o") -> dict:
    model.eval()
    data = load_split(split, n)
    n = len(data["images"])
    cfg = model.cfg
    preds = []
    for i in range(0, n, 25):
        out = model(to_input(data["images"][i:i + 25], next(model.parameters()).device).contiguous())
        logits, boxes = out["streams"][0][-1]
        sl = slice(0, cfg.num_o2o) if block == "o2o" else slice(cfg.num_o2o, None)
        for b in range(logits.shape[0]):
            preds.append(detections(logits[b, sl].cpu().numpy(), boxes[b, sl].cpu().numpy()))
    return coco_eval(preds, split, n)


def load_detr(name: str, cfg: DetrConfig) -> SmallDETR:
    m = SmallDETR(cfg)
    m.load_state_dict(torch.load(Checkpointer(name).dir / "model.pt", map_location="cpu"))
    return m.eval()


if __name__ == "__main__":
    print(json.dumps(train_detr("detr-smoke", DetrConfig(), 2, batch=2), indent=1))
