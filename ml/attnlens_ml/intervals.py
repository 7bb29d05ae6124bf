"""Paired bootstrap intervals over test images for the cards' comparisons (model A minus model B on the same
resampled images), for set-level figures that are not means of per-image numbers: mIoU from the pooled
confusion matrix, COCO AP from pycocotools' per-image evaluation. One resample draws len(images) image indices
with replacement; both models are scored on that same multiset, so the interval is of the difference itself.
It covers which test images were drawn, not training randomness (that needs several seeds)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .metrics import mean_iou


def paired_bootstrap(
    stat_a: Callable[[np.ndarray], float],
    stat_b: Callable[[np.ndarray], float],
    n: int,
    resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict:
    """A − B on all n images, with the percentile interval of A − B over `resamples` paired resamples."""
    everything = np.arange(n)
    rng = np.random.default_rng(seed)
    diffs = np.empty(resamples)
    for r in range(resamples):
        idx = np.sort(rng.integers(0, n, n))  # sorted: image order as in the full set (ties break the same way)
        diffs[r] = stat_a(idx) - stat_b(idx)
    tail = (1 - level) / 2
    return {
        'diff': float(stat_a(everything) - stat_b(everything)),
        'ci': [float(np.quantile(diffs, tail)), float(np.quantile(diffs, 1 - tail))],
        'level': level,
        'resamples': resamples,
        'seed': seed,
        'images': n,
    }


def miou_of(confusions: np.ndarray) -> Callable[[np.ndarray], float]:
    """mIoU (metrics.mean_iou) of the images `idx`, from per-image confusion matrices [N, C, C]."""
    return lambda idx: mean_iou(confusions[idx].sum(0))


class BoxApByImage:
    """COCO AP@[.50:.95] (area all, 100 detections) of any multiset of images, from one pycocotools evaluation
    (metrics.coco_box_eval): pycocotools' own accumulate() restricted to those images, so on every image once
    it is stats[0] exactly."""

    def __init__(self, ev) -> None:
        p = ev.params
        self.iou_thresholds = len(p.iouThrs)
        self.rec_thrs = p.recThrs
        self.max_det = p.maxDets[-1]
        n_img, n_area = len(p.imgIds), len(p.areaRng)
        all_area = [tuple(a) for a in p.areaRng].index((0**2, 1e5**2))
        # per category, per image: (scores, matched [T, D], ignored [T, D], non-ignored truths) or None
        self.cells = [
            [self._cell(ev.evalImgs[k * n_area * n_img + all_area * n_img + i]) for i in range(n_img)]
            for k in range(len(p.catIds))
        ]

    def _cell(self, e):
        if e is None:
            return None
        d = self.max_det
        return (
            np.asarray(e['dtScores'][:d]),
            np.asarray(e['dtMatches'][:, :d]) > 0,
            np.asarray(e['dtIgnore'][:, :d]).astype(bool),
            int(np.count_nonzero(np.asarray(e['gtIgnore']) == 0)),
        )

    def ap(self, idx: Sequence[int]) -> float:
        precisions = []
        for per_image in self.cells:
            cells = [per_image[i] for i in idx if per_image[i] is not None]
            if not cells:
                continue
            npig = sum(c[3] for c in cells)
            if npig == 0:
                continue  # a category without truth on these images is left out, as pycocotools does
            scores = np.concatenate([c[0] for c in cells])
            order = np.argsort(-scores, kind='mergesort')
            matched = np.concatenate([c[1] for c in cells], axis=1)[:, order]
            ignored = np.concatenate([c[2] for c in cells], axis=1)[:, order]
            tp_sum = np.cumsum(matched & ~ignored, axis=1).astype(float)
            fp_sum = np.cumsum(~matched & ~ignored, axis=1).astype(float)
            for tp, fp in zip(tp_sum, fp_sum):
                rc = tp / npig
                pr = (tp / (fp + tp + np.spacing(1))).tolist()
                for i in range(len(pr) - 1, 0, -1):
                    if pr[i] > pr[i - 1]:
                        pr[i - 1] = pr[i]
                at = np.searchsorted(rc, self.rec_thrs, side='left')
                precisions.append([pr[j] if j < len(pr) else 0.0 for j in at])
        return float(np.mean(precisions)) if precisions else -1.0
