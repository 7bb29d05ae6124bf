"""Recommended score threshold of each zoo detector (contract 1.3): the threshold that maximises F1 at IoU 0.5
on the validation split, written into the detector's embedded contract and into public/models/index.json.

    ml/.venv/bin/python -m attnlens_ml.thresholds             # every detector in public/models/index.json
    ml/.venv/bin/python -m attnlens_ml.thresholds --dry-run   # measure and print, write nothing

The pipeline (`npm run zoo`) calls `annotate_zoo` after export, so a rebuilt zoo carries its thresholds.

How a threshold is scored — the app's own reading of a detector, so the default it gets is the best one for
what it shows:
- decoding (src/analysis/boxes.ts `decodeQueries`): the one_to_one block only; per query its best class
  (largest logit among the labels' columns), score = the contract's activation of it (sigmoid of that logit,
  or its softmax probability over all the query's columns, a last no-object column included); kept when
  score >= threshold; boxes in the contract's box_format → pixels of the input (the zoo: sigmoid, cxcywh);
- matching (src/analysis/boxes.ts `boxAgreement`): per image, predictions by descending score each take the
  unused ground-truth box of the same class with the highest IoU, if that IoU >= 0.5 (COCO-style greedy);
- F1 pooled over the split: precision = TP / predictions, recall = TP / ground-truth boxes;
- the grid is 0.05, 0.10, ..., 0.95; on a tie the lowest threshold wins (it shows more).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np

GRID = tuple(round(0.05 * k, 2) for k in range(1, 20))
IOU = 0.5
SPLIT = 'val'
ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / 'public' / 'models'

# One image's detections (scores [n], class ids [n], boxes xyxy [n, 4]) or ground truth (class ids, boxes).
Detections = tuple[np.ndarray, np.ndarray, np.ndarray]
Truth = tuple[np.ndarray, np.ndarray]


def cxcywh_to_xyxy(boxes: np.ndarray, width: float, height: float) -> np.ndarray:
    """[n, 4] normalised (cx, cy, w, h) → [n, 4] pixels (x0, y0, x1, y1) of a width×height frame."""
    cx, cy, w, h = (boxes[:, i].astype(np.float64) for i in range(4))
    return np.stack([(cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height], 1)


def box_corners(boxes: np.ndarray, box_format: str, width: float, height: float) -> np.ndarray:
    """[n, 4] boxes in a contract box_format → [n, 4] pixels (x0, y0, x1, y1) of the width×height input."""
    if box_format == 'cxcywh_normalized':
        return cxcywh_to_xyxy(boxes, width, height)
    b = boxes.astype(np.float64)
    if box_format == 'xyxy_normalized':
        return b * np.array([width, height, width, height])
    if box_format == 'xyxy_pixels':
        return b
    raise ValueError(f'unknown box_format {box_format!r}')


def decode_one_to_one(
    logits: np.ndarray,
    boxes: np.ndarray,
    labels: list[int],
    width: float,
    height: float,
    activation: str = 'sigmoid',
    box_format: str = 'cxcywh_normalized',
) -> Detections:
    """[Q, C] logits and [Q, 4] boxes → every query's best label (largest logit among the labels' columns),
    its score (sigmoid of that logit, or with `activation='softmax'` its probability over all C columns: C may
    be len(labels) + 1, the last column DETR's no-object class), and its box in pixels (x0, y0, x1, y1) of a
    width×height frame. No threshold: choose one afterwards."""
    z = logits.astype(np.float64)
    best = z[:, : len(labels)].argmax(1)  # first maximum, like the app's strict '>' scan
    picked = z[np.arange(len(z)), best]
    if activation == 'softmax':
        top = z.max(1)
        scores = np.exp(picked - top) / np.exp(z - top[:, None]).sum(1)
    else:
        scores = 1 / (1 + np.exp(-picked))
    return scores, np.asarray(labels)[best], box_corners(boxes, box_format, width, height)


def box_ious(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of one box a [4] with boxes b [n, 4] (xyxy); 0 where they do not overlap."""
    w = np.minimum(a[2], b[:, 2]) - np.maximum(a[0], b[:, 0])
    h = np.minimum(a[3], b[:, 3]) - np.maximum(a[1], b[:, 1])
    inter = np.where((w > 0) & (h > 0), w * h, 0.0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
    return np.where(inter > 0, inter / np.where(union > 0, union, 1), 0.0)


def matched_truth(dets: Detections, truth: Truth, iou: float = IOU) -> np.ndarray:
    """Which ground-truth boxes the detections match: greedy by descending score, same class, best unused
    ground truth with IoU >= iou (src/analysis/boxes.ts boxAgreement)."""
    scores, classes, boxes = dets
    gt_classes, gt_boxes = truth
    used = np.zeros(len(gt_classes), bool)
    for i in sorted(range(len(scores)), key=lambda k: -scores[k]):  # stable: equal scores keep query order
        cand = (~used) & (gt_classes == classes[i])
        if not cand.any():
            continue
        ious = np.where(cand, box_ious(boxes[i], gt_boxes), -1.0)
        j = len(ious) - 1 - int(ious[::-1].argmax())  # equal IoUs: the last box, as boxAgreement's '>=' scan
        if ious[j] >= iou:
            used[j] = True
    return used


def true_positives(dets: Detections, truth: Truth, iou: float = IOU) -> int:
    """Detections matched to a ground-truth box (see matched_truth)."""
    return int(matched_truth(dets, truth, iou).sum())


def f1_table(preds: list[Detections], truths: list[Truth], grid=GRID, iou: float = IOU) -> list[dict]:
    """Pooled precision, recall and F1 at each threshold of the grid (detections kept when score >= t)."""
    rows = []
    n_true = sum(len(t[0]) for t in truths)
    for t in grid:
        tp = n_pred = 0
        for (scores, classes, boxes), truth in zip(preds, truths):
            keep = scores >= t
            n_pred += int(keep.sum())
            tp += true_positives((scores[keep], classes[keep], boxes[keep]), truth, iou)
        precision = tp / n_pred if n_pred else (0.0 if n_true else 1.0)
        recall = tp / n_true if n_true else (0.0 if n_pred else 1.0)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
        rows.append(
            {
                'threshold': t,
                'tp': tp,
                'predictions': n_pred,
                'truths': n_true,
                'precision': precision,
                'recall': recall,
                'f1': f1,
            }
        )
    return rows


def choose_threshold(table: list[dict]) -> dict:
    """The row with the highest F1; on a tie the lowest threshold."""
    best = max(f['f1'] for f in table)
    return min((r for r in table if r['f1'] == best), key=lambda r: r['threshold'])


def recommend(preds: list[Detections], truths: list[Truth], grid=GRID, iou: float = IOU) -> dict:
    """The recommended threshold of a detector's validation predictions, as index.json records it."""
    row = choose_threshold(f1_table(preds, truths, grid, iou))
    return {
        'value': row['threshold'],
        'val_f1': round(row['f1'], 6),
        'images': len(preds),
        'precision': round(row['precision'], 6),
        'recall': round(row['recall'], 6),
        'iou': iou,
        'split': SPLIT,
        'grid': [grid[0], grid[-1], round(grid[1] - grid[0], 2)],
    }


def found_per_class(preds: list[Detections], truths: list[Truth], threshold: float, iou: float = IOU) -> dict:
    """Per class name at `threshold`: ground-truth boxes, detections kept, and detections matched to a truth box
    (matched_truth within the class: IoU >= `iou`) — what a detector finds of each class, at the app's default."""
    from .data import CLASS_NAMES

    classes = sorted({int(c) for cs, _ in truths for c in cs} | {int(c) for _, cs, _ in preds for c in cs})
    out = {}
    for k in classes:
        found = kept = truth = 0
        for (scores, labels, boxes), (t_cls, t_boxes) in zip(preds, truths):
            sel = (scores >= threshold) & (labels == k)
            kept += int(sel.sum())
            truth += int((t_cls == k).sum())
            found += true_positives(
                (scores[sel], labels[sel], boxes[sel]), (t_cls[t_cls == k], t_boxes[t_cls == k]), iou
            )
        out[CLASS_NAMES[k]] = {'truth': truth, 'kept': kept, 'found': found}
    return out


# ---------------------------------------------------------------- the zoo's detectors on the validation split


def ground_truth(split: str = SPLIT, n: int | None = None) -> list[Truth]:
    """The split's boxes (data generator, cached in ml/data) as class ids and xyxy pixels at IMAGE_SIZE."""
    from .dataset import IMAGE_SIZE, load_boxes

    z = load_boxes(split, n)
    out = []
    for classes, boxes in zip(z['classes'], z['boxes']):
        keep = classes >= 0
        out.append((classes[keep], cxcywh_to_xyxy(boxes[keep], IMAGE_SIZE, IMAGE_SIZE)))
    return out


def one_to_one_block(contract: dict) -> tuple[dict, dict]:
    """The one_to_one block's box_logits and boxes outputs."""
    logits = next(o for o in contract['outputs'] if o['role'] == 'box_logits' and o['block'] == 'one_to_one')
    boxes = next(o for o in contract['outputs'] if o['role'] == 'boxes' and o['block'] == 'one_to_one')
    return logits, boxes


def predictions(path: Path, images: np.ndarray) -> list[Detections]:
    """Every image through the ONNX file (onnxruntime, the zoo's preprocessing): decoded one-to-one queries."""
    import onnx

    from .contract import read_contract
    from .zoo import ort_session, preprocess

    contract = read_contract(onnx.load(str(path), load_external_data=False))
    lo, bo = one_to_one_block(contract)
    _, _, h, w = contract['input']['shape']
    sess = ort_session(path)
    out = []
    for i in range(len(images)):
        logits, boxes = sess.run([lo['name'], bo['name']], {contract['input']['name']: preprocess(images[i : i + 1])})
        out.append(decode_one_to_one(logits[0], boxes[0], lo['labels'], w, h, lo['activation'], bo['box_format']))
    return out


def _outputs(path: Path) -> dict[str, np.ndarray]:
    from .zoo import ort_session, parity_input

    sess = ort_session(path)
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, {sess.get_inputs()[0].name: parity_input().numpy()})))


def write_threshold(path: Path, value: float) -> None:
    """Embed the threshold (metadata only) and prove it: the graph serialises to the same bytes and
    onnxruntime gives bit-identical outputs before and after."""
    import onnx

    from .export_kit import embed_score_threshold

    before_graph = onnx.load(str(path)).graph.SerializeToString()
    before = _outputs(path)
    embed_score_threshold(path, value)
    if onnx.load(str(path)).graph.SerializeToString() != before_graph:
        raise RuntimeError(f'{path}: the graph changed while writing metadata')
    after = _outputs(path)
    for k, v in before.items():
        if not np.array_equal(v, after[k]):
            raise RuntimeError(f'{path}: output {k} changed while writing metadata')


def file_facts(path: Path) -> dict:
    data = path.read_bytes()
    return {'bytes': len(data), 'sha256': hashlib.sha256(data).hexdigest()}


def annotate_zoo(index: dict, models_dir: Path = MODELS, write: bool = True) -> dict[str, dict]:
    """Measure every detection model of `index` on the validation split, embed its threshold and record it
    (with the file's new bytes/sha256) in the index entry, with what it finds of each class at that threshold on
    the test split (found_at_threshold). Returns {model id: recommendation}."""
    from .dataset import load_split

    detectors = [m for m in index['models'] if m['task'] == 'detection']
    if not detectors:
        return {}
    images = load_split(SPLIT)['images']
    truths = ground_truth(SPLIT, len(images))
    test_images = load_split('test')['images']
    test_truths = ground_truth('test', len(test_images))
    found = {}
    for m in detectors:
        path = models_dir / Path(m['file']).name
        rec = recommend(predictions(path, images), truths)
        found[m['id']] = rec
        print(
            f'[thresholds] {m["id"]}: {rec["value"]:.2f} (val F1 {rec["val_f1"]:.4f}, P {rec["precision"]:.3f}, '
            f'R {rec["recall"]:.3f}, {rec["images"]} images)'
        )
        if write:
            write_threshold(path, rec['value'])
            m.update(file_facts(path))
            m['score_threshold'] = rec
            m['found_at_threshold'] = {
                'split': 'test',
                'images': len(test_images),
                'threshold': rec['value'],
                'per_class': found_per_class(predictions(path, test_images), test_truths, rec['value']),
            }
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--dry-run', action='store_true', help='measure and print; change no file')
    args = ap.parse_args()
    index_path = MODELS / 'index.json'
    index = json.loads(index_path.read_text())
    annotate_zoo(index, write=not args.dry_run)
    if not args.dry_run:
        index_path.write_text(json.dumps(index, indent=1))


if __name__ == '__main__':
    main()
