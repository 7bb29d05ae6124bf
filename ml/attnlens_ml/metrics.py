"""Every metric of the package, in one place: training's validation, the zoo's measurements (index.json),
the model cards (which only format what is measured here) and the tests all use these functions.

- segmentation: confusion matrix → per-class IoU, mIoU, pixel accuracy (`segmentation_metrics`), and the
  batch loop over any predictor (`evaluate_segmentation`: a PyTorch model in training, onnxruntime in the zoo);
- image-level labels: exact match and per-label accuracy (`label_metrics`);
- detection: DETR's top-k decoding (`detections`) and COCO box AP with pycocotools (`coco_box_ap`,
  `coco_box_ap_on_split`);
- ViT attention → pseudo-masks: DINO's mass rule, CST's score rule, the patch-grid ceiling, baselines and the
  rule's own limit on ideal maps (`pseudo_mask_metrics`, built on the per-image pieces below).

Metric functions are pure numpy (pycocotools for AP); the only data they read is `coco_box_ap_on_split`'s
ground truth. Class counts come from the data configuration (`data.py`).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Sequence

import numpy as np

from .data import CLASS_NAMES, FOREGROUND_CLASSES, NUM_CLASSES

# ---------------------------------------------------------------------------------------------- segmentation


def confusion_matrix(truth: np.ndarray, pred: np.ndarray, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """[truth, pred] pixel counts."""
    idx = truth.astype(np.int64).ravel() * num_classes + pred.astype(np.int64).ravel()
    return np.bincount(idx, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def iou_from_confusion(conf: np.ndarray) -> np.ndarray:
    """Per-class IoU; NaN for a class absent from both truth and prediction."""
    tp = np.diag(conf).astype(np.float64)
    denom = conf.sum(0) + conf.sum(1) - tp
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(denom > 0, tp / np.maximum(denom, 1), np.nan)


def mean_iou(conf: np.ndarray) -> float:
    """Mean IoU over the classes present in truth or prediction (absent ones are left out, not counted as 0)."""
    return float(np.nanmean(iou_from_confusion(conf)))


def segmentation_metrics(conf: np.ndarray, class_names: Sequence[str] = CLASS_NAMES, digits: int = 6) -> dict:
    """mIoU, per-class IoU by name (None: class absent from truth and prediction) and pixel accuracy."""
    iou = iou_from_confusion(conf)
    return {
        'miou': round(float(np.nanmean(iou)), digits),
        'iou_per_class': {n: (None if np.isnan(v) else round(float(v), digits)) for n, v in zip(class_names, iou)},
        'pixel_accuracy': round(float(np.trace(conf) / conf.sum()), digits),
    }


def evaluate_segmentation(
    predict: Callable[[np.ndarray], np.ndarray],
    images: np.ndarray,
    semantic: np.ndarray,
    batch: int = 50,
    num_classes: int = NUM_CLASSES,
) -> dict:
    """`predict` maps uint8 images [b,H,W,3] to class ids [b,H,W]; run in batches, scored on `semantic`."""
    conf = np.zeros((num_classes, num_classes), np.int64)
    for i in range(0, len(images), batch):
        conf += confusion_matrix(semantic[i : i + batch], predict(images[i : i + batch]), num_classes)
    return {**segmentation_metrics(conf), 'images': int(len(images))}


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two binary masks; 1.0 when both are empty."""
    a, b = a.astype(bool), b.astype(bool)
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


# -------------------------------------------------------------------------------------- image-level labels


def label_metrics(logits: np.ndarray, present: np.ndarray) -> dict:
    """Image-level labels: exact-match accuracy and per-label accuracy at sigmoid 0.5."""
    pred = logits > 0
    truth = present > 0.5
    return {
        'exact_match': round(float((pred == truth).all(1).mean()), 6),
        'label_accuracy': round(float((pred == truth).mean()), 6),
    }


# ----------------------------------------------------------------------------------------------- detection


def detections(logits: np.ndarray, boxes: np.ndarray, top: int = 100):
    """DETR inference on one image's one-to-one block: the top (query, class) pairs by sigmoid score.
    → (scores, class ids 1..C, boxes cxcywh normalised)."""
    prob = 1 / (1 + np.exp(-logits))
    flat = prob.ravel()
    order = np.argsort(-flat)[:top]
    q, c = np.divmod(order, logits.shape[1])
    return flat[order], c + 1, boxes[q]


def coco_box_eval(
    preds: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
    truth_classes: np.ndarray,
    truth_boxes: np.ndarray,
    image_size: int,
    categories: Sequence[int] = FOREGROUND_CLASSES,
):
    """pycocotools' COCOeval of per-image (scores, class ids, boxes cxcywh normalised) against ground truth
    (class ids [N, M], −1 = padding; boxes [N, M, 4] cxcywh normalised; square images of `image_size` px),
    evaluated image by image (`evaluate()`), not yet accumulated. Image i has id i + 1."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    n = len(preds)
    images, anns, dets = [], [], []
    for i in range(n):
        images.append({'id': i + 1, 'width': image_size, 'height': image_size})
        for c, (cx, cy, w, h) in zip(truth_classes[i], truth_boxes[i]):
            if c < 0:
                continue
            bw, bh = w * image_size, h * image_size
            anns.append(
                {
                    'id': len(anns) + 1,
                    'image_id': i + 1,
                    'category_id': int(c),
                    'iscrowd': 0,
                    'bbox': [(cx - w / 2) * image_size, (cy - h / 2) * image_size, bw, bh],
                    'area': bw * bh,
                }
            )
        scores, classes, boxes = preds[i]
        for s, c, (cx, cy, w, h) in zip(scores, classes, boxes):
            dets.append(
                {
                    'image_id': i + 1,
                    'category_id': int(c),
                    'score': float(s),
                    'bbox': [
                        float((cx - w / 2) * image_size),
                        float((cy - h / 2) * image_size),
                        float(w * image_size),
                        float(h * image_size),
                    ],
                }
            )
    gt = COCO()
    gt.dataset = {'images': images, 'annotations': anns, 'categories': [{'id': int(k)} for k in categories]}
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        dt = gt.loadRes(dets) if dets else COCO()
        ev = COCOeval(gt, dt, 'bbox')
        ev.evaluate()
    return ev


def coco_box_ap(
    preds: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
    truth_classes: np.ndarray,
    truth_boxes: np.ndarray,
    image_size: int,
    categories: Sequence[int] = FOREGROUND_CLASSES,
) -> dict:
    """COCO box AP / AP50 / AP75 / AP small (pycocotools, IoU 0.50:0.95) of `coco_box_eval`'s evaluation."""
    n = len(preds)
    ev = coco_box_eval(preds, truth_classes, truth_boxes, image_size, categories)
    with contextlib.redirect_stdout(io.StringIO()):
        ev.accumulate()
        ev.summarize()
    return {
        'ap': round(float(ev.stats[0]), 6),
        'ap50': round(float(ev.stats[1]), 6),
        'ap75': round(float(ev.stats[2]), 6),
        'ap_small': round(float(ev.stats[3]), 6),
        'images': n,
    }


def coco_box_ap_on_split(preds: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], split: str) -> dict:
    """`coco_box_ap` against the first len(preds) scenes of a split (boxes from the data generator's cache)."""
    from .dataset import IMAGE_SIZE, load_boxes

    labels = load_boxes(split, len(preds))
    return coco_box_ap(preds, labels['classes'], labels['boxes'], IMAGE_SIZE)


# ---------------------------------------------------------------------------- ViT attention → pseudo-masks


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
    return foreground[: gh * patch, : gw * patch].reshape(gh, patch, gw, patch).mean((1, 3)).ravel()


def dino_iou(cls_attention: np.ndarray, foreground: np.ndarray, patch: int, mass: float = 0.6) -> float:
    """IoU with the foreground of DINO's mask of one attention map [N] (or the head mean of [H, N])."""
    att = cls_attention.reshape(-1, cls_attention.shape[-1]).mean(0, keepdims=True)
    grid = (foreground.shape[0] // patch, foreground.shape[1] // patch)
    return mask_iou(upsample_patch_mask(dino_mass_mask(att, mass)[0], grid, patch), foreground)


def head_conventions(
    cls_last: np.ndarray,
    foreground: np.ndarray,
    objects: Sequence[Sequence[np.ndarray]] | None,
    patch: int,
    mass: float = 0.6,
) -> dict:
    """The last layer's pseudo-mask IoU under each way of turning H heads into masks, averaged over images —
    the figure depends on the convention, so every card states which one it headlines.

    cls_last [B, H, N] (CLS over patch keys), foreground bool [B, h, w], objects[b] = that image's instance
    masks (bool [h, w]) or None to skip the per-object figure.
    - head_mean: DINO's rule on the mean of the heads' maps (the card's headline, as trained and shipped);
    - per_head: each head's own mask, per head; mean_of_heads: their average;
    - union_of_heads: the union of the H heads' masks;
    - best_head_per_image: the head whose mask fits the image's foreground best (an oracle: picked with the
      ground truth);
    - best_head_per_object: DINO's reading — for every object, the head whose mask has the highest IoU with
      that object's mask; averaged over objects (also an oracle)."""
    grid = (foreground.shape[1] // patch, foreground.shape[2] // patch)
    b_n, heads = cls_last.shape[:2]
    masks = [
        [upsample_patch_mask(m, grid, patch) for m in dino_mass_mask(cls_last[b], mass)] for b in range(b_n)
    ]  # [B][H] pixel masks
    per = np.array([[mask_iou(masks[b][h], foreground[b]) for h in range(heads)] for b in range(b_n)])
    out = {
        'head_mean': float(np.mean([dino_iou(cls_last[b], foreground[b], patch, mass) for b in range(b_n)])),
        'per_head': [float(v) for v in per.mean(0)],
        'mean_of_heads': float(per.mean()),
        'union_of_heads': float(np.mean([mask_iou(np.logical_or.reduce(masks[b]), foreground[b]) for b in range(b_n)])),
        'best_head_per_image': float(per.max(1).mean()),
    }
    if objects is not None:
        best = [max(mask_iou(masks[b][h], o) for h in range(heads)) for b in range(b_n) for o in objects[b]]
        out['best_head_per_object'] = float(np.mean(best)) if best else None
        out['objects'] = len(best)
    return out


def cst_iou(
    cosine: np.ndarray, foreground: np.ndarray, patch: int, score: float = 0.4, upsample: str = 'bilinear'
) -> float:
    """IoU with the foreground of CST's mask of one image's cosine [H, N]: scores upsampled bilinearly then
    thresholded (CST's convention), or thresholded on the grid and upsampled nearest ("nearest")."""
    grid = (foreground.shape[0] // patch, foreground.shape[1] // patch)
    if upsample == 'bilinear':
        return mask_iou(upsample_bilinear((cosine.mean(0) + 1) / 2, grid, foreground.shape) > score, foreground)
    return mask_iou(upsample_patch_mask(cst_score_mask(cosine, score), grid, patch), foreground)


def centre_disc(size: tuple[int, int], radius: float = 0.35) -> np.ndarray:
    """The centre-disc baseline mask: radius · height, ≈ 38 % of the pixels at 0.35."""
    yy, xx = np.mgrid[0 : size[0], 0 : size[1]]
    return ((yy - size[0] / 2) ** 2 + (xx - size[1] / 2) ** 2) < (radius * size[0]) ** 2


def dino_rule_oracles(foreground: np.ndarray, patch: int, mass: float) -> tuple[float, float]:
    """What DINO's mass rule scores on ideal attention maps: (uniform over every patch touching the
    foreground, proportional to each patch's foreground fraction). Keeping `mass` of a flat map keeps only
    that share of its patches, so even perfect-but-flat attention scores about mass × the ceiling."""
    frac = patch_fractions(foreground, patch)
    if frac.sum() == 0:
        return 1.0, 1.0
    return dino_iou((frac > 0).astype(np.float64), foreground, patch, mass), dino_iou(frac, foreground, patch, mass)


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


def ceiling_iou(foreground: np.ndarray, patch: int) -> float:
    """The best IoU any patch-level mask can reach against this foreground."""
    grid = (foreground.shape[0] // patch, foreground.shape[1] // patch)
    return mask_iou(upsample_patch_mask(best_patch_mask(foreground, patch), grid, patch), foreground)


def pseudo_mask_metrics(
    cls_attention: np.ndarray,
    cosine: np.ndarray,
    semantic: np.ndarray,
    patch: int,
    mass: float = 0.6,
    score: float = 0.4,
    per_head: bool = False,
    oracles: bool = True,
    digits: int | None = 6,
    objects: Sequence[Sequence[np.ndarray]] | None = None,
) -> dict:
    """Foreground IoU (foreground = any part or defect) of a ViT's pseudo-masks, averaged over images:
    DINO's rule on the head-mean CLS attention of every layer, CST's rule on the last layer's cosine, next to
    the whole-image and centre-disc baselines and the patch-grid ceiling.

    cls_attention [B, L, H, N] (CLS over patch keys, every layer and head), cosine [B, H, N] (last layer),
    semantic [B, H_px, W_px]. per_head adds the last layer's DINO IoU per head and CST thresholded on the
    grid; oracles adds DINO's rule on ideal maps (`dino_rule_oracles`). digits=None: unrounded. objects (each
    image's instance masks) adds `head_conventions` of the last layer as `dino_last_layer_heads`."""
    fg = semantic > 0
    layers = cls_attention.shape[1]
    dino = np.array(
        [[dino_iou(cls_attention[b, l], fg[b], patch, mass) for l in range(layers)] for b in range(len(fg))]
    ).reshape(len(fg), layers)
    disc = centre_disc(fg.shape[1:])
    r = (lambda v: float(v)) if digits is None else (lambda v: round(float(v), digits))  # noqa: E731
    out = {
        'images': int(len(fg)),
        'dino_mass': mass,
        'dino_iou_last_layer': r(dino[:, -1].mean()),
        'dino_iou_per_layer': [r(v) for v in dino.mean(0)],
    }
    if per_head:
        out['dino_iou_last_layer_per_head'] = [
            r(np.mean([dino_iou(cls_attention[b, -1, h], fg[b], patch, mass) for b in range(len(fg))]))
            for h in range(cls_attention.shape[2])
        ]
    out['cst_score'] = score
    out['cst_iou'] = r(np.mean([cst_iou(cosine[b], fg[b], patch, score) for b in range(len(fg))]))
    if per_head:
        out['cst_iou_patch_nearest'] = r(
            np.mean([cst_iou(cosine[b], fg[b], patch, score, 'nearest') for b in range(len(fg))])
        )
    out.update(
        {
            'baseline_whole_image_iou': r(np.mean([mask_iou(np.ones_like(f), f) for f in fg])),
            'baseline_centre_disc_iou': r(np.mean([mask_iou(disc, f) for f in fg])),
            'ceiling_patch_iou': r(np.mean([ceiling_iou(f, patch) for f in fg])),
        }
    )
    if objects is not None:
        heads = head_conventions(cls_attention[:, -1], fg, objects, patch, mass)
        out['dino_last_layer_heads'] = {
            k: (v if k == 'objects' or v is None else [r(x) for x in v] if isinstance(v, list) else r(v))
            for k, v in heads.items()
        }
    if oracles:
        o = np.array([dino_rule_oracles(f, patch, mass) for f in fg]).reshape(len(fg), 2)
        out['dino_rule_on_flat_foreground_iou'] = r(o[:, 0].mean())
        out['dino_rule_on_fraction_map_iou'] = r(o[:, 1].mean())
    return out
