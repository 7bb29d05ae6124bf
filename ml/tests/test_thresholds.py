"""The recommended-threshold chooser (attnlens_ml.thresholds) on a case worked out by hand."""

import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from attnlens_ml.contract import read_contract, recommended_score_threshold
from attnlens_ml.thresholds import (
    GRID,
    choose_threshold,
    decode_one_to_one,
    f1_table,
    found_per_class,
    recommend,
    true_positives,
)

ROOT = Path(__file__).resolve().parents[2]

# One image: ground truth two bolts (class 1) and a nut (class 2), boxes xyxy in pixels.
TRUTH = (np.array([1, 1, 2]), np.array([[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]], float))
# score, class, box                       what it is (greedy by score)
PRED = [
    (0.9, 1, [0, 0, 10, 10]),  # TP: the first bolt
    (0.8, 1, [0, 0, 10, 10]),  # FP: duplicate, that bolt is taken
    (0.6, 2, [20, 20, 30, 30]),  # FP: right place, wrong class
    (0.4, 1, [21, 21, 31, 31]),  # TP: IoU 81/119 = 0.68 with the second bolt
    (0.2, 2, [40, 40, 45, 50]),  # TP: IoU exactly 0.5 with the nut (>= 0.5 counts)
    (0.1, 1, [60, 60, 70, 70]),
]  # FP: nothing there
DETS = (np.array([p[0] for p in PRED]), np.array([p[1] for p in PRED]), np.array([p[2] for p in PRED], float))

# threshold → (kept, TP) by hand; F1 = 2PR / (P + R) with 3 ground-truth boxes
BY_HAND = {
    0.05: (6, 3),
    0.1: (6, 3),
    0.15: (5, 3),
    0.2: (5, 3),
    0.25: (4, 2),
    0.4: (4, 2),
    0.45: (3, 1),
    0.6: (3, 1),
    0.65: (2, 1),
    0.8: (2, 1),
    0.85: (1, 1),
    0.9: (1, 1),
    0.95: (0, 0),
}


def _f1(kept, tp, truths=3):
    p, r = (tp / kept if kept else 0.0), tp / truths
    return 2 * p * r / (p + r) if p + r else 0.0


def test_f1_table_matches_hand_count():
    rows = {r['threshold']: r for r in f1_table([DETS], [TRUTH])}
    assert list(rows) == list(GRID) == [round(0.05 * k, 2) for k in range(1, 20)]
    for t, (kept, tp) in BY_HAND.items():
        assert (rows[t]['predictions'], rows[t]['tp']) == (kept, tp), t
        assert rows[t]['f1'] == pytest.approx(_f1(kept, tp)), t
    assert rows[0.15]['f1'] == pytest.approx(0.75)  # P 3/5, R 1


def test_best_f1_wins_and_a_tie_goes_to_the_lowest_threshold():
    best = choose_threshold(f1_table([DETS], [TRUTH]))
    assert best['threshold'] == 0.15 and best['f1'] == pytest.approx(0.75)  # 0.15 and 0.2 tie at 0.75
    rec = recommend([DETS], [TRUTH])
    assert rec['value'] == 0.15 and rec['val_f1'] == 0.75 and rec['images'] == 1
    assert (rec['precision'], rec['recall']) == (0.6, 1.0)


def test_found_per_class_matches_hand_count():
    # At 0.15 (the hand table's kept rows): bolts — kept 0.9, 0.8, 0.4 → the first bolt and the second (IoU 0.68);
    # nuts — kept 0.6 (on a bolt: the nut is elsewhere) and 0.2 (IoU 0.5 with the nut) → 1. Within a class the
    # 0.6 nut box on the bolt cannot take the bolt: the same greedy matching, one class at a time.
    got = found_per_class([DETS, DETS], [TRUTH, TRUTH], 0.15)
    assert got == {'bolt': {'truth': 4, 'kept': 6, 'found': 4}, 'nut': {'truth': 2, 'kept': 4, 'found': 2}}
    # Above every score nothing is kept, and the truth is still counted.
    none = found_per_class([DETS], [TRUTH], 0.95)
    assert none == {'bolt': {'truth': 2, 'kept': 0, 'found': 0}, 'nut': {'truth': 1, 'kept': 0, 'found': 0}}


def test_greedy_matching_is_by_score_then_best_iou_same_class():
    truth = (np.array([1, 1]), np.array([[0, 0, 10, 10], [3, 0, 13, 10]], float))
    # query 0 (score 0.3) fits only box 1 (IoU 0.82); query 1 (score 0.9) fits box 1 best (0.82) and box 0
    # too (0.67). By score, query 1 takes box 1 and query 0 is left with nothing: 1 TP (query order gives 2).
    dets = (np.array([0.3, 0.9]), np.array([1, 1]), np.array([[4, 0, 14, 10], [2, 0, 12, 10]], float))
    assert true_positives(dets, truth) == 1
    # another class never matches
    assert true_positives((dets[0], np.array([2, 2]), dets[2]), truth) == 0


def test_decoding_is_the_apps():
    logits = np.array([[-3.0, 0.0, -1.0], [2.0, 2.0, -5.0]])  # second query: a tie keeps the first class
    boxes = np.array([[0.5, 0.5, 0.2, 0.4], [0.25, 0.75, 0.5, 0.5]])
    scores, classes, xyxy = decode_one_to_one(logits, boxes, [1, 2, 3], 160, 80)
    np.testing.assert_allclose(scores, [0.5, 1 / (1 + np.exp(-2.0))])
    assert classes.tolist() == [2, 1]
    np.testing.assert_allclose(xyxy, [[64, 24, 96, 56], [0, 40, 80, 80]])


def test_shipped_detectors_carry_their_recorded_threshold():
    index = json.loads((ROOT / 'public' / 'models' / 'index.json').read_text())
    detectors = [m for m in index['models'] if m['task'] == 'detection']
    assert detectors
    for m in detectors:
        contract = read_contract(onnx.load(str(ROOT / 'public' / m['file']), load_external_data=False))
        rec = m['score_threshold']
        assert contract['version'] == '1.3' and recommended_score_threshold(contract) == rec['value'], m['id']
        assert rec['value'] in GRID and 0 < rec['val_f1'] <= 1 and rec['images'] == 300


def test_export_kit_writes_and_embeds_the_threshold(tmp_path):
    import shutil

    from attnlens_ml.contract import validate_contract
    from attnlens_ml.export_kit import detection_block_outputs, embed_score_threshold, make_contract

    common = dict(
        model_id='my-detr',
        name='My DETR',
        task='detection',
        role='teacher',
        family='detr',
        input_name='image',
        input_hw=(160, 160),
        mean=(0.5,) * 3,
        std=(0.25,) * 3,
        class_names=['background', 'a', 'b'],
        class_colors=['#000000', '#ff0000', '#00ff00'],
    )
    outputs = [
        *detection_block_outputs('o2o', 'one_to_one', 10, [1, 2]),
        *detection_block_outputs('o2m', 'one_to_many', 30, [1, 2], k=3),
    ]
    plain = make_contract(**common, outputs=outputs)
    assert plain['version'] == '1.2' and validate_contract(plain) == [] and recommended_score_threshold(plain) is None
    withthr = make_contract(**common, outputs=[dict(o) for o in outputs], score_threshold=0.4)
    assert (
        withthr['version'] == '1.3' and validate_contract(withthr) == [] and recommended_score_threshold(withthr) == 0.4
    )
    with pytest.raises(ValueError):
        make_contract(**common, outputs=[dict(o) for o in outputs], score_threshold=1.2)

    src = ROOT / 'public' / 'models' / 'detr-student-o2o.onnx'
    path = tmp_path / 'd.onnx'
    shutil.copy(src, path)
    contract = embed_score_threshold(path, 0.55)
    assert recommended_score_threshold(contract) == 0.55 and contract['version'] == '1.3'
    assert read_contract(onnx.load(str(path)))['outputs'] == contract['outputs']
    assert onnx.load(str(path)).graph.SerializeToString() == onnx.load(str(src)).graph.SerializeToString()
    with pytest.raises(ValueError):
        embed_score_threshold(path, -0.1)


def test_decode_honours_softmax_with_a_no_object_column_and_every_box_format():
    # the same hand-computed cases as src/analysis/boxes.test.ts: columns label 4, label 6, no-object
    logits = np.array([[2, 0, 0], [0, 0, 3], [0, np.log(3), 0]], np.float32)
    boxes = np.array([[0.1, 0.2, 0.5, 0.6], [0, 0, 1, 1], [0.5, 0.5, 0.75, 1]], np.float32)
    scores, classes, xyxy = decode_one_to_one(logits, boxes, [4, 6], 100, 200, 'softmax', 'xyxy_normalized')
    np.testing.assert_allclose(scores, [np.e**2 / (np.e**2 + 2), 1 / (2 + np.e**3), 3 / 5], rtol=1e-6)
    assert classes.tolist() == [4, 4, 6]  # labels tie on query 1: the first; no-object is never a label
    np.testing.assert_allclose(xyxy[0], [10, 40, 50, 120], atol=1e-4)
    want = [10, 40, 50, 120]
    for fmt, box in (('cxcywh_normalized', [0.3, 0.4, 0.4, 0.4]), ('xyxy_pixels', want)):
        (_, _, got) = decode_one_to_one(
            np.array([[5.0, 0.0]]), np.array([box], np.float32), [4, 6], 100, 200, box_format=fmt
        )
        np.testing.assert_allclose(got[0], want, atol=1e-4)
    (s, _, _) = decode_one_to_one(np.array([[2.0, 0.0]]), np.zeros((1, 4)), [4, 6], 1, 1, 'softmax')
    np.testing.assert_allclose(s, [np.e**2 / (np.e**2 + 1)])  # no no-object column: over the labels alone
    (s, _, _) = decode_one_to_one(np.array([[2.0, 0.0]]), np.zeros((1, 4)), [4, 6], 1, 1)
    np.testing.assert_allclose(s, [1 / (1 + np.e**-2)])
