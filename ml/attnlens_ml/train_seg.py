"""Train the CBAM segmentation teacher, then students alone and with AttnFD, at the same budget."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .common import Checkpointer, augment, batch_indices, cosine_lr, device, to_input
from .dataset import load_split
from .metrics import confusion_matrix, iou_from_confusion
from .models.cbam_seg import SITES, CBAMSegmenter, Connector, SegConfig, attnfd_distance

NUM_CLASSES = 7


def class_weights(semantic: np.ndarray) -> torch.Tensor:
    """Inverse square-root frequency: thin defects and small parts are rare pixels, not unimportant ones."""
    freq = np.bincount(semantic.ravel(), minlength=NUM_CLASSES).astype(np.float64)
    w = 1.0 / np.sqrt(freq / freq.sum() + 1e-6)
    return torch.tensor(w / w.mean(), dtype=torch.float32)


@torch.no_grad()
def evaluate(model: torch.nn.Module, images: np.ndarray, semantic: np.ndarray, dev, batch: int = 50) -> dict:
    model.eval()
    conf = np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64)
    for i in range(0, len(images), batch):
        pred = model(to_input(images[i:i + batch], dev)).argmax(1).cpu().numpy()
        conf += confusion_matrix(semantic[i:i + batch], pred, NUM_CLASSES)
    iou = iou_from_confusion(conf)
    return {"miou": float(np.nanmean(iou)), "iou_per_class": [float(v) for v in iou]}


def train_segmenter(name: str, cfg: SegConfig, steps: int, lr: float, batch: int = 16, seed: int = 0,
                    teacher: CBAMSegmenter | None = None, beta: float = 0.0,
                    beta_schedule: str = "constant", labelled_fraction: float = 1.0) -> dict:
    """beta_schedule "constant" keeps the AttnFD weight fixed; "anneal" decays it from beta to 0 on a cosine
    so that the feature term guides early training and cross-entropy alone finishes it.
    labelled_fraction < 1: only that share of the training images (a seeded subset) has masks — the
    factory case of many images, few annotated. Every run still sees the same images in the same order;
    cross-entropy reads the labelled ones, AttnFD's feature term (which needs no labels) reads all."""
    ck = Checkpointer(name)
    if ck.done:
        return ck.done
    dev = device()
    torch.manual_seed(seed)
    train = load_split("train")
    model = CBAMSegmenter(cfg).to(dev).to(memory_format=torch.channels_last)
    connectors = torch.nn.ModuleDict()
    if teacher is not None:
        teacher = teacher.to(dev).eval()
        tw = teacher.site_widths()
        connectors = torch.nn.ModuleDict({s: Connector(w, tw[s]) for s, w in model.site_widths().items()}).to(dev)
    params = list(model.parameters()) + list(connectors.parameters())
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
    weights = class_weights(train["semantic"]).to(dev)
    labelled = np.zeros(len(train["images"]), bool)
    labelled[np.random.default_rng([seed, 99]).permutation(len(labelled))[:round(labelled_fraction * len(labelled))]] = True
    state = {"model": model, "connectors": connectors, "opt": opt}
    start = ck.resume(state)
    for step in range(start, steps):
        for g in opt.param_groups:
            g["lr"] = cosine_lr(step, steps, lr)
        model.train()
        connectors.train()
        idx = batch_indices(len(train["images"]), batch, step, seed)
        imgs, masks = augment(train["images"][idx], train["semantic"][idx], step, seed)
        x = to_input(imgs, dev)
        y = torch.from_numpy(masks.astype(np.int64)).to(dev)
        logits = model(x)  # on every image: the forward also feeds AttnFD's taps
        has_mask = torch.from_numpy(labelled[idx]).to(dev)
        ce = (F.cross_entropy(logits[has_mask], y[has_mask], weight=weights) if has_mask.any()
              else torch.zeros((), device=dev))
        loss = ce
        fd = torch.zeros((), device=dev)
        if teacher is not None:
            with torch.no_grad():
                teacher(x)
            for s in SITES:
                fd = fd + attnfd_distance(teacher.cbam[s].last["refined"],
                                          connectors[s](model.cbam[s].last["refined"])).mean()
            weight = beta if beta_schedule == "constant" else cosine_lr(step, steps, beta, warmup=0)
            loss = ce + weight * fd
        opt.zero_grad(set_to_none=True)
        if loss.requires_grad:  # a plain student's step on a batch without masks has nothing to learn from
            loss.backward()
            opt.step()
        if step % 50 == 0:
            ck.log(f"step {step}/{steps} ce {ce.item():.4f} fd {fd.item():.4f}")
        ck.maybe_save(step + 1, state)
    val = load_split("val")
    metrics = evaluate(model, val["images"], val["semantic"], dev)
    ck.log(f"val miou {metrics['miou']:.4f}")
    if teacher is not None:
        torch.save(connectors.state_dict(), ck.dir / "connectors.pt")
    return ck.finish(model, {"name": name, "steps": steps, "batch": batch, "lr": lr, "beta": beta,
                             "beta_schedule": beta_schedule, "labelled_fraction": labelled_fraction,
                             "seed": seed, "distilled_from": "teacher" if teacher is not None else None,
                             "val": metrics})


def load_segmenter(name: str, cfg: SegConfig) -> CBAMSegmenter:
    m = CBAMSegmenter(cfg)
    m.load_state_dict(torch.load(Checkpointer(name).dir / "model.pt", map_location="cpu"))
    return m.eval()


def load_connectors(name: str, student_cfg: SegConfig, teacher_cfg: SegConfig) -> torch.nn.ModuleDict:
    s = CBAMSegmenter(student_cfg).site_widths()
    t = CBAMSegmenter(teacher_cfg).site_widths()
    c = torch.nn.ModuleDict({k: Connector(s[k], t[k]) for k in SITES})
    c.load_state_dict(torch.load(Checkpointer(name).dir / "connectors.pt", map_location="cpu"))
    return c.eval()
