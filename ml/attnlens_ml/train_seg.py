"""Train the CBAM segmentation teacher, then students alone and with AttnFD, at the same budget.

Few-masks controls (`arm`, see `ARMS`): with only a share of the training images annotated, a student can
learn from the labelled images alone or add a term that reads unlabelled ones — plain feature matching
(FitNets), the teacher's predictions as pseudo-labels, or AttnFD. `arm_batches` states the rule that makes
those arms comparable.
"""

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

# Few-masks arms. Every arm: the same cross-entropy on a batch of `batch` labelled images each step; all but
# "supervised" add one term on an ordinary batch (drawn from all images, as the shipped runs draw it).
ARMS = ('supervised', 'fitnets', 'pseudo', 'attnfd')
FITNETS_WEIGHT = 1.0  # FitNets' hint loss: plain MSE, weight 1 (features are post-BN/ReLU, CE is O(0.1-1))
PSEUDO_WEIGHT = 1.0  # the teacher's argmax counts as much as a real mask, pixel for pixel


def labelled_subset(n: int, fraction: float, seed: int) -> np.ndarray:
    """Which of the n training images have masks: a seeded subset of round(fraction·n), as bool [n]."""
    labelled = np.zeros(n, bool)
    labelled[np.random.default_rng([seed, 99]).permutation(n)[: round(fraction * n)]] = True
    return labelled


def arm_batches(
    arm: str, labelled: np.ndarray, batch: int, step: int, seed: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """(indices for cross-entropy, indices for the label-free term or None) at `step` of a few-masks arm.

    The combining rule, the same for every arm: each optimizer step draws `batch` images from the labelled
    subset alone (keyed on (seed, step), identical across arms) and applies cross-entropy to them — so every
    arm gets steps·batch labelled presentations, in the same order, and the same optimizer steps. The arms
    with a label-free term add a second, ordinary batch of `batch` images drawn from ALL training images
    (`batch_indices`, the shipped runs' batch) and add  weight · term  to the loss:
      fitnets — feature MSE on all of its images (labels are not needed);
      attnfd  — AttnFD's distance on all of its images;
      pseudo  — cross-entropy against the teacher's argmax on its UNLABELLED images only (a labelled image
                has its real mask, already used by the labelled batch).
    Why two batches rather than one mixed batch: in a mixed batch of 16 at 10 % labelled, cross-entropy
    sees 1.6 labelled images a step, so any arm that adds a term also changes how much the labels are used;
    with a fixed labelled batch, the only difference between arms is the added term (and its second forward).
    """
    if arm not in ARMS:
        raise ValueError(f'unknown arm {arm!r}: one of {ARMS}')
    pool = np.flatnonzero(labelled)
    ce_idx = pool[np.random.default_rng([seed, step, 11]).choice(len(pool), batch, replace=False)]
    extra = None if arm == 'supervised' else batch_indices(len(labelled), batch, step, seed)
    return ce_idx, extra


def fitnets_loss(
    teacher_feats: dict[str, torch.Tensor], student_feats: dict[str, torch.Tensor], connectors: torch.nn.ModuleDict
) -> torch.Tensor:
    """FitNets' hint loss summed over the CBAM sites: mean squared error between the teacher's features and
    the student's, lifted to the teacher's width by the site's Connector (both before CBAM)."""
    return sum(F.mse_loss(connectors[s](student_feats[s]), teacher_feats[s]) for s in SITES)


def pseudo_labels(teacher_logits: torch.Tensor, has_mask: torch.Tensor, ignore: int = -100) -> torch.Tensor:
    """The teacher's argmax as targets on images without a mask; `ignore` on every pixel of a labelled one."""
    target = teacher_logits.argmax(1)
    target[has_mask] = ignore
    return target


class PreCBAMTap:
    """Keeps each CBAM site's input (the features before CBAM) of a segmenter's last forward, through forward
    pre-hooks: the model, its `.last` and its export are unchanged."""

    def __init__(self, model: CBAMSegmenter):
        self.features: dict[str, torch.Tensor] = {}
        self.handles = [model.cbam[s].register_forward_pre_hook(self._hook(s)) for s in SITES]

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
        self.features = {}

    def _hook(self, site: str):
        def keep(_module, args):
            self.features[site] = args[0]

        return keep


class Counts(torch.nn.Module):
    """Training counters kept in buffers, so they are checkpointed and survive a resume."""

    def __init__(self):
        super().__init__()
        for k in ('steps', 'labelled_presentations', 'label_free_term_images'):
            self.register_buffer(k, torch.zeros((), dtype=torch.int64))

    def add(self, **values: int) -> None:
        for k, v in values.items():
            getattr(self, k).add_(int(v))

    def as_dict(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.named_buffers()}


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
    arm: str | None = None,
) -> dict:
    """beta_schedule "constant" keeps the AttnFD weight fixed; "anneal" decays it from beta to 0 on a cosine
    so that the feature term guides early training and cross-entropy alone finishes it.
    labelled_fraction < 1: only that share of the training images (a seeded subset) has masks — the
    factory case of many images, few annotated. Every run still sees the same images in the same order;
    cross-entropy reads the labelled ones, AttnFD's feature term (which needs no labels) reads all.
    arm (one of ARMS; None: the shipped behaviour above): a few-masks control, batches by `arm_batches`;
    "fitnets", "pseudo" and "attnfd" need `teacher`, "attnfd" uses `beta`/`beta_schedule`."""
    if arm is not None:
        if arm not in ARMS:
            raise ValueError(f'unknown arm {arm!r}: one of {ARMS}')
        if (teacher is None) != (arm == 'supervised'):
            raise ValueError(f'arm {arm!r} ' + ('needs a teacher' if teacher is None else 'takes no teacher'))

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
        labelled = labelled_subset(n, labelled_fraction, seed)
        counts = Counts()
        taps = (PreCBAMTap(model), PreCBAMTap(teacher)) if arm == 'fitnets' else None

        def arm_loss(step: int):
            ce_idx, extra = arm_batches(arm, labelled, batch, step, seed)
            imgs, masks = augment(train_split['images'][ce_idx], train_split['semantic'][ce_idx], step, seed)
            y = torch.from_numpy(masks.astype(np.int64)).to(dev)
            ce = F.cross_entropy(model(to_input(imgs, dev)), y, weight=weights)
            logs = {'ce': ce}
            counts.add(steps=1, labelled_presentations=len(ce_idx))
            if extra is None:
                return ce, logs
            imgs, _ = augment(train_split['images'][extra], None, step, seed)
            x = to_input(imgs, dev)
            logits = model(x)
            with torch.no_grad():
                t_logits = teacher(x)
            if arm == 'fitnets':
                term = fitnets_loss(taps[1].features, taps[0].features, connectors)
                weight, used = FITNETS_WEIGHT, len(extra)
            elif arm == 'pseudo':
                has_mask = torch.from_numpy(labelled[extra]).to(dev)
                target = pseudo_labels(t_logits, has_mask)
                used = int((~has_mask).sum())
                term = F.cross_entropy(logits, target, weight=weights) if used else torch.zeros((), device=dev)
                weight = PSEUDO_WEIGHT
            else:
                term = sum(
                    attnfd_distance(
                        teacher.cbam[s].last['refined'], connectors[s](model.cbam[s].last['refined'])
                    ).mean()
                    for s in SITES
                )
                weight = beta if beta_schedule == 'constant' else cosine_lr(step, steps, beta, warmup=0)
                used = len(extra)
            counts.add(label_free_term_images=used)
            return ce + weight * term, {**logs, arm: term}

        def loss(step: int):
            if arm is not None:
                return arm_loss(step)
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
            for tap in taps or ():
                tap.remove()  # the teacher is shared with later runs
            extra = {'arm': arm, **counts.as_dict()} if arm is not None else {}
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
                **extra,
            }

        modules = {'model': model, 'connectors': connectors}
        if arm is not None:  # shipped runs keep their checkpoint layout
            modules['counts'] = counts
        return Job(
            modules=modules,
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
