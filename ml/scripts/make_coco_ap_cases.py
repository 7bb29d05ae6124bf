"""Write src/evaluate/fixtures/coco-ap-cases.json: COCO box cases and what pycocotools' COCOeval makes of them, the
reference for src/evaluate/cocoAp.ts (tested in src/evaluate/cocoAp.test.ts; ml/tests/test_coco_ap_cases.py checks
the committed file is what this script makes).

    ml/.venv/bin/python ml/scripts/make_coco_ap_cases.py && npx biome format --write src/evaluate/fixtures

Each case: a COCO ground-truth document (images, annotations with area and iscrowd, categories), detections in
COCO results format, pycocotools' pooled stats[0] / stats[1] (AP, AP50), and per image the same numbers from a
COCOeval restricted to that image (params.imgIds = [id]); pycocotools' -1 (nothing to average) is null.
Annotation ids start at 1: pycocotools takes a match with annotation id 0 for no match.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

OUT = Path(__file__).resolve().parents[2] / 'src' / 'evaluate' / 'fixtures' / 'coco-ap-cases.json'


def _number(stat: float) -> float | None:
    return None if np.isnan(stat) or stat == -1 else float(stat)


def _coco(document: dict) -> COCO:
    coco = COCO()
    coco.dataset = copy.deepcopy(document)
    coco.createIndex()
    return coco


def coco_ap(gt: dict, detections: list[dict], image_id: int | None = None) -> dict:
    """pycocotools' AP and AP50 (stats[0], stats[1]) of `detections` against `gt`, over one image or all."""
    with contextlib.redirect_stdout(io.StringIO()):
        truth = _coco(gt)
        # loadRes reads anns[0], so no detections at all needs an empty results document of its own.
        if detections:
            found = truth.loadRes(copy.deepcopy(detections))
        else:
            found = _coco({'images': gt['images'], 'categories': gt['categories'], 'annotations': []})
        evaluation = COCOeval(truth, found, iouType='bbox')
        if image_id is not None:
            evaluation.params.imgIds = [image_id]
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return {'ap': _number(evaluation.stats[0]), 'ap50': _number(evaluation.stats[1])}


def case(name: str, gt: dict, detections: list[dict]) -> dict:
    return {
        'name': name,
        'gt': gt,
        'detections': detections,
        'pooled': coco_ap(gt, detections),
        'per_image': [{'image_id': im['id'], **coco_ap(gt, detections, im['id'])} for im in gt['images']],
    }


def document(image_ids: list[int], categories: list[int], objects: list[tuple]) -> dict:
    """A COCO ground truth from (image_id, category_id, bbox, iscrowd[, area]) tuples; area defaults to w*h."""
    annotations = []
    for n, (image_id, category_id, bbox, crowd, *area) in enumerate(objects, start=1):
        annotations.append(
            {
                'id': n,
                'image_id': image_id,
                'category_id': category_id,
                'bbox': [float(v) for v in bbox],
                'area': float(area[0]) if area else float(bbox[2] * bbox[3]),
                'iscrowd': int(crowd),
            }
        )
    return {
        'images': [{'id': i, 'width': 640, 'height': 480} for i in image_ids],
        'annotations': annotations,
        'categories': [{'id': c, 'name': f'class {c}'} for c in categories],
    }


def detection(image_id: int, category_id: int, bbox, score: float) -> dict:
    return {'image_id': image_id, 'category_id': category_id, 'bbox': [float(v) for v in bbox], 'score': float(score)}


def hand_cases() -> list[dict]:
    cases = []
    # IoU landing exactly on thresholds: [0,0,10,10] in [0,0,10,20] is 1/2; [0,0,100,h] in [0,0,100,100] is h/100.
    # iouThrs[8] is 0.8999999999999999, so 0.9 passes it; 0.95 passes the last. Touching boxes overlap 0.
    objects = [(1, 1, [0, 0, 10, 20], 0)] + [(2, 1, [0, 0, 100, 100], 0)] * 5 + [(3, 1, [0, 0, 10, 10], 0)]
    dets = [detection(1, 1, [0, 0, 10, 10], 0.9), detection(3, 1, [10, 0, 10, 10], 0.8)]
    dets += [detection(2, 1, [0, 0, 100, h], 0.5 + h / 1000) for h in (55, 75, 90, 95, 100)]
    cases.append(case('IoU exactly on thresholds, touching boxes', document([1, 2, 3], [1], objects), dets))
    # A crowd region absorbs any number of detections (intersection over the detection's area) without false positives.
    objects = [(1, 1, [0, 0, 50, 50], 0), (1, 1, [100, 100, 200, 200], 1, 30000)]
    dets = [detection(1, 1, [120 + 30 * k, 110 + 20 * k, 40, 40], 0.9 - 0.1 * k) for k in range(4)]
    dets += [detection(1, 1, [1, 1, 48, 49], 0.3), detection(1, 1, [0, 0, 50, 50], 0.2)]
    cases.append(case('crowd absorbs detections, a duplicate is a false positive', document([1], [1], objects), dets))
    # A detection matched to a regular object stops at the ignored ones (sorted last), even at a better crowd IoU.
    objects = [(1, 1, [0, 0, 10, 10], 1), (1, 1, [0, 0, 10, 10], 0), (1, 1, [20, 0, 10, 10], 0)]
    dets = [detection(1, 1, [0, 0, 10, 9], 0.9), detection(1, 1, [20, 0, 10, 8], 0.8)]
    cases.append(case('a match to a regular object is not traded for a crowd', document([1], [1], objects), dets))
    # Equal IoU with two objects: the later one takes the detection (>=), leaving the earlier for the next one.
    objects = [(1, 1, [0, 0, 10, 10], 0), (1, 1, [5, 0, 10, 10], 0)]
    dets = [detection(1, 1, [2.5, 0, 10, 10], 0.9), detection(1, 1, [0, 0, 10, 10], 0.8)]
    cases.append(case('equal IoU with two objects', document([1], [1], objects), dets))
    # Only the best 100 detections of an (image, category) count; among equal scores, the first listed.
    objects = [(1, 1, [0, 0, 10, 10], 0), (2, 1, [0, 0, 10, 10], 0)]
    dets = []
    for image_id in (1, 2):
        dets += [detection(image_id, 1, [100 + 3 * k, 200, 2, 2], 0.9) for k in range(99)]
        hit, miss = detection(image_id, 1, [0, 0, 10, 10], 0.5), detection(image_id, 1, [400, 400, 5, 5], 0.5)
        dets += [miss, hit] if image_id == 1 else [hit, miss]
    cases.append(case('the cut to 100 detections', document([1, 2], [1], objects), dets))
    # A false positive scored above the true positives: the precision envelope.
    objects = [(1, 1, [0, 0, 10, 10], 0), (1, 1, [20, 0, 10, 10], 0), (1, 1, [40, 0, 10, 10], 0)]
    dets = [detection(1, 1, [200, 200, 10, 10], 0.9), detection(1, 1, [0, 0, 10, 10], 0.8)]
    dets += [detection(1, 1, [20, 0, 10, 10], 0.7), detection(1, 1, [300, 0, 10, 10], 0.6)]
    cases.append(case('false positive first', document([1], [1], objects), dets))
    # Equal scores on different images: pycocotools pools in ascending image id, so the false positive of image 1
    # comes before the true positive of image 2.
    objects = [(1, 1, [0, 0, 10, 10], 0), (2, 1, [0, 0, 10, 10], 0)]
    dets = [detection(2, 1, [0, 0, 10, 10], 0.5), detection(1, 1, [50, 50, 10, 10], 0.5)]
    cases.append(case('equal scores across images', document([1, 2], [1], objects), dets))
    # Boxes larger than the 'all' area range (1e10): such objects are ignored, and so are unmatched such detections.
    # An object's area is its annotation's, not its box's: category 2's object is ignored by its area of 2e10.
    objects = [(1, 1, [0, 0, 2e5, 2e5], 0), (1, 1, [0, 0, 10, 10], 0), (1, 2, [5, 5, 1e5, 1e5], 0, 2e10)]
    dets = [detection(1, 1, [0, 0, 2e5, 2e5], 0.9), detection(1, 1, [1e5, 1e5, 2e5, 2e5], 0.8)]
    dets += [detection(1, 1, [0, 0, 10, 10], 0.7), detection(1, 2, [5, 5, 1e5, 6e4], 0.6)]
    cases.append(case('huge boxes', document([1], [1, 2], objects), dets))
    # Tiny boxes (under a pixel) still overlap as doubles.
    objects = [(1, 1, [3.2, 4.1, 0.5, 0.25], 0), (1, 1, [7.0, 7.0, 0.01, 0.02], 0)]
    dets = [detection(1, 1, [3.25, 4.1, 0.5, 0.25], 0.4), detection(1, 1, [7.0, 7.0, 0.01, 0.015], 0.3)]
    cases.append(case('tiny boxes', document([1], [1], objects), dets))
    objects = [(1, 1, [0, 0, 10, 10], 0), (2, 2, [5, 5, 10, 10], 1)]
    cases.append(case('no detections at all', document([1, 2], [1, 2], objects), []))
    cases.append(
        case('no ground truth at all', document([1, 2], [1], []), [detection(1, 1, [0, 0, 10, 10], 0.5)]),
    )
    return cases


def random_box(rng: np.random.Generator, scale: float) -> list[float]:
    w, h = np.exp(rng.uniform(np.log(2), np.log(scale), 2))
    return [round(float(v), 2) for v in (rng.uniform(0, 640 - w / 2), rng.uniform(0, 480 - h / 2), w, h)]


def jittered(rng: np.random.Generator, box: list[float], spread: float) -> list[float]:
    x, y, w, h = box
    dx, dy, dw, dh = rng.normal(0, spread, 4)
    return [round(v, 2) for v in (x + dx * w, y + dy * h, max(0.01, w * (1 + dw)), max(0.01, h * (1 + dh)))]


def random_case(name: str, seed: int, images: int, crowded: bool) -> dict:
    """Images with objects of categories 1, 2, 3 and 7 (5 is in the file but has none), detections near them with
    scores rounded to share values, false positives, some of category 9 (not in the file); the first image has
    objects but no detections, the second detections but no objects, the third more than 100 detections if
    `crowded`."""
    rng = np.random.default_rng(seed)
    image_ids = sorted(int(i) for i in rng.choice(np.arange(1, 1000), images, replace=False))
    categories, used = [1, 2, 3, 5, 7], [1, 2, 3, 7]
    objects, dets = [], []
    for n, image_id in enumerate(image_ids):
        boxes = []
        if n != 1:
            for _ in range(int(rng.integers(1, 9))):
                box, crowd = random_box(rng, 300), rng.random() < 0.08
                area = round(box[2] * box[3] * rng.uniform(0.4, 1), 2) if rng.random() < 0.5 else box[2] * box[3]
                boxes.append((int(rng.choice(used)), box))
                objects.append((image_id, boxes[-1][0], box, crowd, area))
        if n == 0:
            continue
        # The crowded image: over 100 detections of one category, so the cut to the best 100 matters.
        crowd_category = boxes[0][0] if crowded and n == 2 else None
        extra = 110 if crowd_category is not None else int(rng.integers(0, 5))
        near = [(c, b) for c, b in boxes for _ in range(int(rng.integers(0, 3)))]
        for c, b in near:
            category = c if rng.random() < 0.9 else int(rng.choice(used))
            dets.append(detection(image_id, category, jittered(rng, b, 0.1), round(rng.random(), 2)))
        for _ in range(extra):
            if boxes and rng.random() < 0.5:
                c, b = boxes[int(rng.integers(len(boxes)))]
                box = jittered(rng, b, 0.3)
            else:
                c, box = int(rng.choice(used)), random_box(rng, 200)
            c = crowd_category if crowd_category is not None else c
            dets.append(detection(image_id, c, box, round(rng.random(), 1 if crowded else 2)))
        if rng.random() < 0.5:
            dets.append(detection(image_id, 9, random_box(rng, 100), round(rng.random(), 2)))
    order = rng.permutation(len(dets))  # detections of an image need not be adjacent in a results file
    return case(name, document(image_ids, categories, objects), [dets[i] for i in order])


def make_cases() -> list[dict]:
    cases = hand_cases()
    cases.append(random_case('random, more than 100 detections on one image', 1, 6, True))
    for seed in range(2, 8):
        cases.append(random_case(f'random {seed}', seed, 5 + seed % 3, False))
    return cases


def main() -> None:
    cases = make_cases()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps({'generator': 'ml/scripts/make_coco_ap_cases.py', 'cases': cases}, separators=(',', ':')) + '\n'
    )
    print(f'wrote {OUT} ({len(cases)} cases, {OUT.stat().st_size} bytes)')


if __name__ == '__main__':
    main()
