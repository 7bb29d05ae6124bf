"""Paired bootstrap intervals: the AP of any multiset of images equals pycocotools run on that multiset as a
data set of its own (duplicated images as new images), and on every image once it is pycocotools' stats[0]."""

import contextlib
import io

import numpy as np
import pytest

from attnlens_ml.intervals import BoxApByImage, miou_of, paired_bootstrap
from attnlens_ml.metrics import coco_box_ap, coco_box_eval, confusion_matrix, mean_iou


def synthetic(n=14, seed=3):
    """Truth of 0-4 boxes of 3 classes per image; detections: noisy copies with random scores, some of the
    wrong class, some missing, some extra — ties in score on purpose (rounded to 0.1)."""
    rng = np.random.default_rng(seed)
    classes = np.full((n, 4), -1)
    boxes = np.zeros((n, 4, 4))
    preds = []
    for i in range(n):
        m = rng.integers(0, 5)
        classes[i, :m] = rng.integers(1, 4, m)
        boxes[i, :m] = np.c_[rng.uniform(0.2, 0.8, (m, 2)), rng.uniform(0.05, 0.3, (m, 2))]
        keep = rng.random(m) < 0.8
        det = boxes[i, :m][keep] + rng.normal(0, 0.02, (keep.sum(), 4))
        cls = np.where(rng.random(keep.sum()) < 0.85, classes[i, :m][keep], rng.integers(1, 4, keep.sum()))
        extra = rng.integers(0, 3)
        det = np.r_[det, np.c_[rng.uniform(0.2, 0.8, (extra, 2)), rng.uniform(0.05, 0.3, (extra, 2))]]
        cls = np.r_[cls, rng.integers(1, 4, extra)]
        scores = np.round(rng.uniform(0.05, 1, len(det)), 1)
        preds.append((scores, cls, np.abs(det)))
    return preds, classes, boxes


def pycocotools_ap(preds, classes, boxes, idx):
    return coco_box_ap([preds[i] for i in idx], classes[idx], boxes[idx], 160, [1, 2, 3])['ap']


def test_ap_of_all_images_is_pycocotools_stats0():
    preds, classes, boxes = synthetic()
    ev = coco_box_eval(preds, classes, boxes, 160, [1, 2, 3])
    with contextlib.redirect_stdout(io.StringIO()):
        ev.accumulate()
        ev.summarize()
    assert BoxApByImage(ev).ap(np.arange(len(preds))) == pytest.approx(ev.stats[0], abs=1e-12)


@pytest.mark.parametrize('idx', [[0, 0, 1], [2, 2, 2, 5, 7, 7, 13], [4], [1, 3, 3, 8, 8, 8, 9, 10, 12, 12]])
def test_ap_of_a_multiset_is_pycocotools_on_that_multiset(idx):
    preds, classes, boxes = synthetic()
    by_image = BoxApByImage(coco_box_eval(preds, classes, boxes, 160, [1, 2, 3]))
    want = pycocotools_ap(preds, classes, boxes, np.array(idx))
    assert round(by_image.ap(np.array(idx)), 6) == pytest.approx(want, abs=1e-6)


def test_paired_bootstrap_by_hand():
    # A is B plus 1 on every image: the difference is 1 on any resample, so the interval is [1, 1]
    a, b = np.arange(10.0) + 1, np.arange(10.0)
    got = paired_bootstrap(lambda i: a[i].mean(), lambda i: b[i].mean(), 10, resamples=200)
    assert got['diff'] == 1 and got['ci'] == pytest.approx([1, 1])
    # the same model against itself: 0 and [0, 0]
    same = paired_bootstrap(lambda i: a[i].mean(), lambda i: a[i].mean(), 10, resamples=50)
    assert same['diff'] == 0 and same['ci'] == [0, 0]


def test_miou_of_pools_confusions_over_the_resampled_images():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, (5, 8, 8))
    pred = np.where(rng.random((5, 8, 8)) < 0.7, truth, rng.integers(0, 3, (5, 8, 8)))
    per_image = np.stack([confusion_matrix(t, p, 3) for t, p in zip(truth, pred)])
    idx = np.array([0, 2, 2, 4])
    assert miou_of(per_image)(idx) == mean_iou(confusion_matrix(truth[idx], pred[idx], 3))
