"""Train the CBAM segmentation teacher, then students alone and with AttnFD, at the same budget."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .common import to_input
from .data import NUM_CLASSES
from .dataset import load_split
from .metrics import evaluate_segmentation
from .models.cbam_seg import SITES, CBAMSegmenter, Connector, SegConfig, attnfd_distance
from .training import Checkpointer, Job, Schedule, augment, batch_indices, cosine_lr, load_weights, train


def class_weights(semantic: np.ndarray) -> torch.Tensor:
    """Inverse square-root frequency: thin defects and small parts are rare pixels, not unimportant ones."""
    freq = np.bincount(semantic.ravel(), minlength=NUM_CLASSES).astype(np.float64)
    w = 1.0 / np.sqrt(freq / freq.sum() + 1e-6)
    return torch.tensor(w / w.mean(), dtype=torch.float32)


@torch.no_grad()
def evaluate(model: torch.nn.Module, images: np.ndarray, semantic: np.ndarray, dev, batch: int = 50) -> dict:
    """mIoU, per-class IoU and pixel accuracy of a PyTorch segmenter (metrics.evaluate_segmentation)."""
    model.eval()
    return evaluate_segmentation(lambda x: model(to_input(x, dev)).argmax(1).cpu().numpy(), images, semantic, batch)


def train_segmenter(
    name: str,
    cfg: SegConfig,
    steps: int,
    lr: float,
    batch: int = 16,
    seed: int = 0,
    teacher: CBAMSegmenter | None = None,
    beta: float = 0.0,
    beta_schedule: str = 'constant',
    labelled_fraction: float = 1.0,
) -> dict:
    """beta_schedule "constant" keeps the AttnFD weight fixed; "anneal" decays it from beta to 0 on a cosine
    so that the feature term guides early training and cross-entropy alone finishes it.
    labelled_fraction < 1: only that share of the training images (a seeded subset) has masks — the
    factory case of many images, few annotated. Every run still sees the same images in the same order;
    cross-entropy reads the labelled ones, AttnFD's feature term (which needs no labels) reads all."""

    def setup(dev) -> Job:
        nonlocal teacher
        train_split = load_split('train')
        model = CBAMSegmenter(cfg).to(dev).to(memory_format=torch.channels_last)
        connectors = torch.nn.ModuleDict()
        if teacher is not None:
            teacher = teacher.to(dev).eval()
            tw = teacher.site_widths()
            connectors = torch.nn.ModuleDict({s: Connector(w, tw[s]) for s, w in model.site_widths().items()}).to(dev)
        weights = class_weights(train_split['semantic']).to(dev)
        n = len(train_split['images'])
        labelled = np.zeros(n, bool)
        labelled[np.random.default_rng([seed, 99]).permutation(n)[: round(labelled_fraction * n)]] = True

        def loss(step: int):
            idx = batch_indices(n, batch, step, seed)
            imgs, masks = augment(train_split['images'][idx], train_split['semantic'][idx], step, seed)
            x = to_input(imgs, dev)
            y = torch.from_numpy(masks.astype(np.int64)).to(dev)
            logits = model(x)  # on every image: the forward also feeds AttnFD's taps
            has_mask = torch.from_numpy(labelled[idx]).to(dev)
            ce = (
                F.cross_entropy(logits[has_mask], y[has_mask], weight=weights)
                if has_mask.any()
                else torch.zeros((), device=dev)
            )
            fd = torch.zeros((), device=dev)
            if teacher is None:
                return ce, {'ce': ce, 'fd': fd}
            with torch.no_grad():
                teacher(x)
            for s in SITES:
                fd = (
                    fd
                    + attnfd_distance(
                        teacher.cbam[s].last['refined'], connectors[s](model.cbam[s].last['refined'])
                    ).mean()
                )
            weight = beta if beta_schedule == 'constant' else cosine_lr(step, steps, beta, warmup=0)
            return ce + weight * fd, {'ce': ce, 'fd': fd}

        def finish(ck: Checkpointer) -> dict:
            val = load_split('val')
            metrics = evaluate(model, val['images'], val['semantic'], dev)
            ck.log(f'val miou {metrics["miou"]:.4f}')
            if teacher is not None:
                torch.save(connectors.state_dict(), ck.dir / 'connectors.pt')
            return {
                'name': name,
                'steps': steps,
                'batch': batch,
                'lr': lr,
                'beta': beta,
                'beta_schedule': beta_schedule,
                'labelled_fraction': labelled_fraction,
                'seed': seed,
                'distilled_from': 'teacher' if teacher is not None else None,
                'val': metrics,
            }

        return Job(
            modules={'model': model, 'connectors': connectors},
            params=list(model.parameters()) + list(connectors.parameters()),
            loss=loss,
            finish=finish,
        )

    return train(name, Schedule(steps=steps, lr=lr, seed=seed, weight_decay=1e-4), setup)


def load_segmenter(name: str, cfg: SegConfig) -> CBAMSegmenter:
    return load_weights(CBAMSegmenter(cfg), name)


def load_connectors(name: str, student_cfg: SegConfig, teacher_cfg: SegConfig) -> torch.nn.ModuleDict:
    s = CBAMSegmenter(student_cfg).site_widths()
    t = CBAMSegmenter(teacher_cfg).site_widths()
    return load_weights(torch.nn.ModuleDict({k: Connector(s[k], t[k]) for k in SITES}), name, 'connectors.pt')
