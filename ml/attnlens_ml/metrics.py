"""Pure metric functions (numpy), shared by training, evaluation, the model cards and the tests."""
from __future__ import annotations

import numpy as np


def confusion_matrix(truth: np.ndarray, pred: np.ndarray, num_classes: int) -> np.ndarray:
    """[truth, pred] pixel counts."""
    idx = truth.astype(np.int64).ravel() * num_classes + pred.astype(np.int64).ravel()
    return np.bincount(idx, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def iou_from_confusion(conf: np.ndarray) -> np.ndarray:
    """Per-class IoU; NaN for a class absent from both truth and prediction."""
    tp = np.diag(conf).astype(np.float64)
    denom = conf.sum(0) + conf.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, tp / np.maximum(denom, 1), np.nan)


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(bool), b.astype(bool)
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def dino_mass_mask(cls_attention: np.ndarray, mass: float = 0.6) -> np.ndarray:
    """DINO's rule per head: the smallest set of patches holding `mass` of the attention. [H,N] → bool [H,N]."""
    a = cls_attention / cls_attention.sum(-1, keepdims=True)
    order = np.argsort(a, axis=-1)
    sorted_a = np.take_along_axis(a, order, -1)
    keep_sorted = np.cumsum(sorted_a, -1) > (1 - mass)
    keep = np.zeros_like(keep_sorted)
    np.put_along_axis(keep, order, keep_sorted, -1)
    return keep


def cst_score_mask(cosine: np.ndarray, threshold: float = 0.4) -> np.ndarray:
    """CST's rule: head-mean cosine(CLS query, patch key) mapped to (c+1)/2, kept where > threshold. [H,N]→[N]."""
    return (cosine.mean(0) + 1) / 2 > threshold


def upsample_patch_mask(mask: np.ndarray, grid: tuple[int, int], patch: int) -> np.ndarray:
    """Patch-grid mask [N] → pixel mask, nearest (DINO's convention)."""
    return np.kron(mask.reshape(grid).astype(np.uint8), np.ones((patch, patch), np.uint8)).astype(bool)


def upsample_bilinear(values: np.ndarray, grid: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """Patch-grid scores [N] → pixel scores, bilinear with align_corners=True (CST's convention)."""
    g = values.reshape(grid).astype(np.float64)
    ys = np.linspace(0, grid[0] - 1, size[0])
    xs = np.linspace(0, grid[1] - 1, size[1])
    y0 = np.floor(ys).astype(int)
    x0 = np.floor(xs).astype(int)
    y1 = np.minimum(y0 + 1, grid[0] - 1)
    x1 = np.minimum(x0 + 1, grid[1] - 1)
    wy = (ys - y0)[:, None]
    wx = (xs - x0)[None, :]
    top = g[y0][:, x0] * (1 - wx) + g[y0][:, x1] * wx
    bottom = g[y1][:, x0] * (1 - wx) + g[y1][:, x1] * wx
    return top * (1 - wy) + bottom * wy


def patch_fractions(foreground: np.ndarray, patch: int) -> np.ndarray:
    """Foreground fraction of every patch, row-major [gh·gw]."""
    h, w = foreground.shape
    gh, gw = h // patch, w // patch
    return foreground[:gh * patch, :gw * patch].reshape(gh, patch, gw, patch).mean((1, 3)).ravel()


def dino_rule_oracles(foreground: np.ndarray, patch: int, mass: float) -> tuple[float, float]:
    """What DINO's mass rule scores on ideal attention maps: (uniform over every patch touching the
    foreground, proportional to each patch's foreground fraction). Keeping `mass` of a flat map keeps only
    that share of its patches, so even perfect-but-flat attention scores about mass × the ceiling."""
    frac = patch_fractions(foreground, patch)
    if frac.sum() == 0:
        return 1.0, 1.0
    gh, gw = foreground.shape[0] // patch, foreground.shape[1] // patch
    score = lambda att: mask_iou(upsample_patch_mask(dino_mass_mask(att[None], mass)[0], (gh, gw), patch),  # noqa: E731
                                 foreground)
    return score((frac > 0).astype(np.float64)), score(frac)


def best_patch_mask(foreground: np.ndarray, patch: int) -> np.ndarray:
    """The patch-level mask with the highest possible IoU against a pixel mask: the ceiling at this grid.

    Patches are added in order of their foreground fraction; the IoU of the best prefix is the ceiling.
    """
    h, w = foreground.shape
    gh, gw = h // patch, w // patch
    frac = patch_fractions(foreground, patch)
    order = np.argsort(-frac)
    total_fg = foreground.sum()
    best, best_k = -1.0, 0
    inter = 0.0
    for k, i in enumerate(order, start=1):
        if frac[i] == 0:
            break
        inter += frac[i] * patch * patch
        iou = inter / (total_fg + k * patch * patch - inter)
        if iou > best:
            best, best_k = iou, k
    mask = np.zeros(gh * gw, bool)
    mask[order[:best_k]] = True
    return mask
