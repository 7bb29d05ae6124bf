"""A data-set run's numbers, computed as the app computes them, and the results file (contract/attnlens-results.schema.json).

Per image and model (the app's src/app/task.ts, src/app/agreement.ts, src/analysis/segmentation.ts and boxes.ts):
- segmentation: class map = argmax over the logits' channels (255 where a logit is NaN); agreement with the
  reference model = mask mIoU over the classes present in either map, and pixel agreement; compared at model
  resolution when both models saw the image in the same frame, else at image points on a grid of at most 320
  a side, each map read through its own placement;
- detection: the one-to-one block, best label per query, scored by the contract's activation, kept at the
  model's threshold (the run's, else the contract's recommendation, else 0.5), boxes mapped to image pixels,
  non-finite ones dropped; agreement = box F1 at IoU 0.5, greedy by score, same class;
- against ground truth: detections against the COCO boxes (box F1), class maps against the COCO masks (mIoU).
Over the set: the mean over images that have a number, with a percentile bootstrap interval (resampling images;
seeded mulberry32, the same generator as src/evaluate/stats.ts, so both give the same interval).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import cache
from pathlib import Path

import numpy as np

from .thresholds import box_corners, box_ious, matched_truth, true_positives

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / 'contract' / 'attnlens-results.schema.json'
FORMAT_VERSION = '1.1'
NO_CLASS = 255
SAMPLE_SIDE = 320
IOU = 0.5
TRUTH = 'ground truth'
NO_BOX = 'no box'  # a box confusion's row and column for a box the other side does not have


def image_id(rgba: np.ndarray) -> str:
    """The app's image id (src/inference/images.ts pixelHash): SHA-256 of width, height (uint32 LE) and RGBA."""
    h, w, c = rgba.shape
    assert c == 4 and rgba.dtype == np.uint8
    header = np.array([w, h], '<u4').tobytes()
    return hashlib.sha256(header + np.ascontiguousarray(rgba).tobytes()).hexdigest()[:16]


def js_number(x: float | int) -> str:
    """A number as JavaScript's String(x) writes it (ECMAScript Number::toString), from Python's shortest repr."""
    if isinstance(x, bool) or not math.isfinite(x):
        raise ValueError(f'{x!r} is not a finite JSON number')
    if x == 0:
        return '0'
    t = Decimal(repr(abs(float(x)))).normalize().as_tuple()  # shortest round-trip digits, as JavaScript's
    sign, digits = '-' if x < 0 else '', ''.join(map(str, t.digits))
    n = len(digits) + t.exponent  # value = 0.digits × 10^n
    k = len(digits)
    if k <= n <= 21:
        out = digits + '0' * (n - k)
    elif 0 < n <= 21:
        out = digits[:n] + '.' + digits[n:]
    elif -6 < n <= 0:
        out = '0.' + '0' * -n + digits
    else:
        e = n - 1
        out = digits[0] + ('.' + digits[1:] if k > 1 else '') + 'e' + ('+' if e > 0 else '-') + str(abs(e))
    return sign + out


def canonical_json(value) -> str:
    """JSON with sorted keys, no spaces and JavaScript's number text: the same bytes as src/evaluate/canonical.ts."""
    if isinstance(value, dict):
        return (
            '{'
            + ','.join(json.dumps(k, ensure_ascii=False) + ':' + canonical_json(value[k]) for k in sorted(value))
            + '}'
        )
    if isinstance(value, list):
        return '[' + ','.join(canonical_json(v) for v in value) + ']'
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return js_number(value)
    return json.dumps(value, ensure_ascii=False)


def contract_hash(contract: dict) -> str:
    """SHA-256 of the contract's canonical JSON (so the app and the command line name a model alike)."""
    return hashlib.sha256(canonical_json(contract).encode()).hexdigest()


def class_map(logits: np.ndarray) -> np.ndarray:
    """[K, H, W] logits → uint8 [H, W] class ids; NO_CLASS where any logit of the pixel is NaN."""
    nan = np.isnan(logits).any(0)
    out = np.nan_to_num(logits, nan=-np.inf).argmax(0).astype(np.uint8)  # first maximum, as the app's '>' scan
    out[nan] = NO_CLASS
    return out


def mask_agreement(reference: np.ndarray, other: np.ndarray, classes: int) -> dict:
    """Per-class IoU (None where a class is in neither map), mIoU over the present ones, pixel agreement, and the
    confusion of the compared pixels ([reference's class][other's class]); values >= classes are not compared."""
    a = reference.ravel().astype(np.int64)
    b = other.ravel().astype(np.int64)
    keep = (a < classes) & (b < classes)
    a, b = a[keep], b[keep]
    confusion = np.bincount(a * classes + b, minlength=classes * classes).reshape(classes, classes)
    inter = np.diag(confusion).astype(np.float64)
    union = confusion.sum(1) + confusion.sum(0) - inter
    iou = [float(inter[k] / union[k]) if union[k] > 0 else None for k in range(classes)]
    present = [v for v in iou if v is not None]
    return {
        'iou': iou,
        'miou': sum(present) / max(len(present), 1),
        'pixel_agreement': float((a == b).sum() / len(a)) if len(a) else 0.0,
        'confusion': confusion,
    }


def _read_at(cmap: np.ndarray, p: dict, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """src/app/task.ts classAt for many image points; -1 outside the map."""
    h, w = cmap.shape
    u = np.floor(xs * p['scaleX'] + p['offsetX']).astype(np.int64)
    v = np.floor(ys * p['scaleY'] + p['offsetY']).astype(np.int64)
    inside = (u >= 0) & (v >= 0) & (u < w) & (v < h)
    out = np.full(len(xs), -1, np.int64)
    out[inside] = cmap[v[inside], u[inside]]
    return out


def _grid_points(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """The app's sample points: centres of a grid with a step of max(1, longest side / 320) image pixels."""
    step = max(1.0, max(width, height) / SAMPLE_SIDE)
    # The app adds the step in a loop from step/2; accumulating in floats, like it, keeps the same points.
    xs, x = [], step / 2
    while x < width:
        xs.append(x)
        x += step
    ys, y = [], step / 2
    while y < height:
        ys.append(y)
        y += step
    gx, gy = np.meshgrid(np.array(xs), np.array(ys))
    return gx.ravel(), gy.ravel()


def read_on_image(maps: Sequence[tuple[np.ndarray, dict]], width: int, height: int) -> list[np.ndarray]:
    """src/app/task.ts readOnImage: (class map, placement) pairs over one width×height image, read where they can
    be compared — their own cells when they share a frame, else grid points (NO_CLASS outside a map)."""
    (first, p0), *_ = maps
    if all(m.shape == first.shape and p == p0 for m, p in maps):
        return [m.ravel().astype(np.int64) for m, _ in maps]
    xs, ys = _grid_points(width, height)
    return [np.where((v := _read_at(m, p, xs, ys)) < 0, NO_CLASS, v) for m, p in maps]


def mask_agreement_on_image(ref: tuple[np.ndarray, dict], other: tuple[np.ndarray, dict], classes, width, height):
    """src/app/agreement.ts maskAgreementOnImage: (class map, placement) pairs over one width×height image."""
    return mask_agreement(*read_on_image([ref, other], width, height), classes)


def one_to_one(contract: dict) -> tuple[dict, dict] | None:
    """The contract's one-to-one (box_logits, boxes) outputs, asked by role."""
    outs = contract['outputs']
    logits = next((o for o in outs if o['role'] == 'box_logits' and o.get('block') == 'one_to_one'), None)
    boxes = next((o for o in outs if o['role'] == 'boxes' and o.get('block') == 'one_to_one'), None)
    return (logits, boxes) if logits and boxes else None


def recommended_threshold(contract: dict) -> float | None:
    block = one_to_one(contract)
    value = (block[0] if block else {}).get('score_threshold', contract['model'].get('score_threshold'))
    return value if isinstance(value, (int, float)) and 0 <= value <= 1 else None


def model_threshold(contract: dict, user: float | None) -> float:
    if user is not None:
        return user
    rec = recommended_threshold(contract)
    return 0.5 if rec is None else rec


def decode_detections(contract: dict, outputs: dict[str, np.ndarray], p: dict, threshold: float) -> list[dict]:
    """src/analysis/boxes.ts decodeQueries + boxToImage: kept detections in image pixels, by score (stable)."""
    logits_o, boxes_o = one_to_one(contract)
    z = outputs[logits_o['name']][0].astype(np.float64)
    labels = logits_o.get('labels') or []
    n = len(labels)
    best = np.zeros(len(z), np.int64)
    for k in range(1, n):  # strict '>' from the first column: NaN never wins, ties keep the first
        best = np.where(z[:, k] > z[np.arange(len(z)), best], k, best)
    picked = z[np.arange(len(z)), best]
    if logits_o.get('activation') == 'softmax':
        top = z.max(1)
        scores = np.exp(picked - top) / np.exp(z - top[:, None]).sum(1)
    else:
        with np.errstate(over='ignore'):
            scores = 1 / (1 + np.exp(-picked))
    corners = box_corners(outputs[boxes_o['name']][0], boxes_o.get('box_format', 'cxcywh_normalized'),
                          p['inputWidth'], p['inputHeight'])  # fmt: skip
    dets = []
    for q in range(len(z)):
        if not scores[q] >= threshold:
            continue
        x0, y0, x1, y1 = corners[q]
        d = {
            'x0': (x0 - p['offsetX']) / p['scaleX'],
            'y0': (y0 - p['offsetY']) / p['scaleY'],
            'x1': (x1 - p['offsetX']) / p['scaleX'],
            'y1': (y1 - p['offsetY']) / p['scaleY'],
            'score': float(scores[q]),
            'class_id': int(labels[best[q]]),
            'query': q,
        }
        if all(math.isfinite(d[k]) for k in ('x0', 'y0', 'x1', 'y1', 'score')):
            dets.append(d)
    return sorted(dets, key=lambda d: -d['score'])


def _arrays(dets: Sequence[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    boxes = np.array([[d['x0'], d['y0'], d['x1'], d['y1']] for d in dets], np.float64).reshape(-1, 4)
    scores = np.array([d.get('score', 1.0) for d in dets], np.float64)
    return scores, np.array([d['class_id'] for d in dets], np.int64), boxes


def box_agreement(reference: Sequence[dict], other: Sequence[dict], iou: float = IOU) -> dict:
    """src/analysis/boxes.ts boxAgreement: matched, precision, recall, F1 of `other` against `reference`."""
    _, ref_classes, ref_boxes = _arrays(reference)
    matched = true_positives(_arrays(other), (ref_classes, ref_boxes), iou) if other and reference else 0
    precision = matched / len(other) if other else (0.0 if reference else 1.0)
    recall = matched / len(reference) if reference else (0.0 if other else 1.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {'matched': matched, 'precision': precision, 'recall': recall, 'f1': f1}


def found_truth(truth: Sequence[dict], dets: Sequence[dict], iou: float = IOU) -> set[int]:
    """Indices of the ground-truth boxes `dets` match (the greedy matching of box_agreement)."""
    _, gt_classes, gt_boxes = _arrays(truth)
    return set(np.flatnonzero(matched_truth(_arrays(dets), (gt_classes, gt_boxes), iou)).tolist())


def failures(truth, reference, model, width: int, height: int) -> dict | None:
    """src/evaluate/failures.ts: ground-truth objects (detections: lists of dicts) or pixels (segmentation:
    (class map, placement) pairs, truth at image pixels) only the reference gets, only the model, neither."""
    if isinstance(truth, list):
        a, b = found_truth(truth, reference), found_truth(truth, model)
        n = len(truth)
        return {
            'unit': 'objects',
            'only_reference': len(a - b),
            'only_model': len(b - a),
            'neither': n - len(a | b),
            'total': n,
        }
    t, x, y = read_on_image([truth, reference, model], width, height)
    keep = (t != NO_CLASS) & (x != NO_CLASS) & (y != NO_CLASS)
    t, x, y = t[keep], x[keep], y[keep]
    return {
        'unit': 'pixels',
        'only_reference': int(((x == t) & (y != t)).sum()),
        'only_model': int(((y == t) & (x != t)).sum()),
        'neither': int(((x != t) & (y != t)).sum()),
        'total': int(len(t)),
    }


def box_comparison(reference: Sequence[dict], other: Sequence[dict], against: str, iou: float = IOU) -> dict:
    """A row's box comparison; value None when neither side has a box (nothing to compare)."""
    f = box_agreement(reference, other, iou)
    return {
        'against': against,
        'metric': 'box_f1',
        'value': None if not reference and not other else f['f1'],
        'precision': f['precision'],
        'recall': f['recall'],
        'matched': f['matched'],
        'predicted': len(other),
        'reference_count': len(reference),
    }


def box_confusion(reference: Sequence[dict], other: Sequence[dict], iou: float = IOU) -> dict[tuple, int]:
    """src/analysis/boxes.ts boxConfusion: boxes matched whatever their class (greedy by score, the unused
    reference box of highest IoU >= iou, the last of equals) → {(reference class | None, model class | None): n}."""
    _, ref_classes, ref_boxes = _arrays(reference)
    scores, classes, boxes = _arrays(other)
    used = np.zeros(len(ref_classes), bool)
    counts: dict[tuple, int] = {}
    for i in sorted(range(len(scores)), key=lambda k: -scores[k]):  # stable: equal scores keep their order
        j = None
        if len(ref_boxes):
            ious = np.where(used, -1.0, box_ious(boxes[i], ref_boxes))
            k = len(ious) - 1 - int(ious[::-1].argmax())
            j = k if ious[k] >= iou else None
        if j is not None:
            used[j] = True
        key = (None if j is None else int(ref_classes[j]), int(classes[i]))
        counts[key] = counts.get(key, 0) + 1
    for j in np.flatnonzero(~used):
        key = (int(ref_classes[j]), None)
        counts[key] = counts.get(key, 0) + 1
    return counts


def pooled_box_confusion(counts: dict[tuple, int], names: Callable[[int], str]) -> tuple[dict, list[dict]]:
    """src/evaluate/results.ts BoxConfusionPool.tables for one (model, against): the matrix over the class ids
    either side gave, then 'no box'; per class the F1 of its boxes."""
    class_ids = sorted({k for pair in counts for k in pair if k is not None})
    ids = [*class_ids, None]
    at = {k: i for i, k in enumerate(ids)}
    m = np.zeros((len(ids), len(ids)), np.int64)
    for (r, c), n in counts.items():
        m[at[r], at[c]] += n
    classes = [NO_BOX if k is None else names(k) for k in ids]
    per_class = []
    for i, k in enumerate(class_ids):
        hit = int(m[i, i])
        denominator = 2 * hit + (int(m[i].sum()) - hit) + (int(m[:, i].sum()) - hit)
        per_class.append({'metric': 'f1', 'class_id': k, 'class': classes[i],
                          'value': 2 * hit / denominator if denominator else None})  # fmt: skip
    return {'unit': 'boxes', 'classes': classes, 'class_ids': ids, 'matrix': m.tolist()}, per_class


def mask_comparison(agreement: dict, against: str) -> dict:
    """A row's mask comparison; value None when no class but background is in either map."""
    nothing = all(v is None for k, v in enumerate(agreement['iou']) if k > 0)
    return {
        'against': against,
        'metric': 'mask_miou',
        'value': None if nothing else agreement['miou'],
        'pixel_agreement': agreement['pixel_agreement'],
    }


def mulberry32(seed: int) -> Callable[[], float]:
    """The small seeded generator src/evaluate/stats.ts uses (same numbers, to the last bit)."""
    state = seed & 0xFFFFFFFF

    def draw() -> float:
        nonlocal state
        state = (state + 0x6D2B79F5) & 0xFFFFFFFF
        t = ((state ^ (state >> 15)) * (state | 1)) & 0xFFFFFFFF
        t = ((t + (((t ^ (t >> 7)) * (t | 61)) & 0xFFFFFFFF)) & 0xFFFFFFFF) ^ t
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296

    return draw


def bootstrap_interval(values: Sequence[float], resamples: int, seed: int, level: float) -> list[float] | None:
    """Percentile bootstrap interval of the mean: `resamples` draws of len(values) values with replacement."""
    n = len(values)
    if n == 0:
        return None
    rng = mulberry32(seed)
    means = []
    for _ in range(resamples):
        total = 0.0
        for _ in range(n):
            total += values[int(rng() * n)]
        means.append(total / n)
    means.sort()
    lo = means[max(0, math.floor((1 - level) / 2 * resamples))]
    hi = means[min(resamples - 1, math.ceil((1 + level) / 2 * resamples) - 1)]
    return [lo, hi]


def summarise(rows: Sequence[dict], reference: str, bootstrap: dict) -> list[dict]:
    """Per (model, against, metric): mean over images with a number, its interval, and against ground truth
    the share of the reference model's mean."""
    groups: dict[tuple[str, str, str], list[float]] = {}
    order: list[tuple[str, str, str]] = []
    for row in rows:
        for key in ('vs_reference', 'vs_truth'):
            c = row.get(key)
            if not c:
                continue
            g = (row['model'], c['against'], c['metric'])
            if g not in groups:
                groups[g] = []
                order.append(g)
            if c['value'] is not None:
                groups[g].append(c['value'])
    means = {g: (sum(v) / len(v) if v else None) for g, v in groups.items()}
    out = []
    for g in order:
        model, against, metric = g
        v = groups[g]
        entry = {
            'model': model,
            'against': against,
            'metric': metric,
            'n': len(v),
            'mean': means[g],
            'ci': bootstrap_interval(v, bootstrap['resamples'], bootstrap['seed'], bootstrap['level']),
        }
        if against == TRUTH and model != reference:
            ref = means.get((reference, against, metric))
            entry['share_of_reference'] = means[g] / ref if ref and means[g] is not None else None
        out.append(entry)
    return out


@cache
def _validator():
    import jsonschema

    return jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))


def validate_results(doc: dict) -> list[str]:
    """Schema problems of a results document, in words ('rows/3/model: …'); empty when valid."""
    errors = sorted(_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))
    return [f'{"/".join(map(str, e.absolute_path)) or "(top)"}: {e.message}' for e in errors]
