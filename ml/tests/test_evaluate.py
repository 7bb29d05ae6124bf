"""Data-set runs (attnlens_ml.evaluate, attnlens_ml.results): the numbers against hand-computed cases, the model
cards and pycocotools; the results file against its schema; Ray surviving a worker killed mid-run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from attnlens_ml.evaluate import _coco_ap, evaluate
from attnlens_ml.results import (
    NO_BOX,
    TRUTH,
    bootstrap_interval,
    box_agreement,
    box_comparison,
    box_confusion,
    canonical_json,
    class_map,
    image_id,
    js_number,
    mask_agreement,
    mask_agreement_on_image,
    mulberry32,
    pooled_box_confusion,
    summarise,
    validate_results,
)

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / 'public' / 'models'
GALLERY = ROOT / 'public' / 'samples' / 'coco.json'
INDEX = json.loads((MODELS / 'index.json').read_text())
CARD = {m['id']: m['metrics']['check_slice'] for m in INDEX['models']}  # the cards' numbers on the 16 gallery images


def test_mulberry32_is_the_javascript_generator():
    # Printed by the canonical JavaScript mulberry32 (Math.imul) for seeds 1 and 2^32 − 1.
    r = mulberry32(1)
    assert [r(), r(), r()] == [0.6270739405881613, 0.002735721180215478, 0.5274470399599522]
    q = mulberry32(4294967295)
    assert [q(), q()] == [0.8964226141106337, 0.189478256739676]


def test_numbers_are_written_as_javascript_writes_them():
    # String(x) in node for each value
    cases = {1.0: '1', 255: '255', 1e-7: '1e-7', 1e-6: '0.000001', 1.234e-6: '0.000001234', 1e21: '1e+21',
             1e20: '100000000000000000000', -2.5: '-2.5', 1e-5: '0.00001', 0.30000000000000004: '0.30000000000000004',
             5e-324: '5e-324', 1.7976931348623157e308: '1.7976931348623157e+308', 12.5e3: '12500', 0: '0'}  # fmt: skip
    assert {x: js_number(x) for x in cases} == cases
    assert canonical_json({'b': [1.0, None, True], 'a': 'é"'}) == '{"a":"é\\"","b":[1,null,true]}'


def test_bootstrap_interval():
    assert bootstrap_interval([], 100, 1, 0.95) is None
    assert bootstrap_interval([0.4] * 7, 200, 3, 0.95) == [pytest.approx(0.4)] * 2
    values = [0.0, 1.0]  # each resample's mean is k/2 with k ~ Binomial(2, ½): 0, ½ or 1
    lo, hi = bootstrap_interval(values, 1000, 1, 0.95)
    assert (lo, hi) == (0.0, 1.0)
    lo, hi = bootstrap_interval(values, 1000, 1, 0.4)  # the middle 40 % are all ½ (P = ½)
    assert (lo, hi) == (0.5, 0.5)
    # brute force: the same draws, written out
    rng, data = mulberry32(9), [0.1, 0.5, 0.7, 0.2, 0.9]
    means = sorted(sum(data[int(rng() * 5)] for _ in range(5)) / 5 for _ in range(50))
    assert bootstrap_interval(data, 50, 9, 0.9) == [means[2], means[47]]


def test_class_map_marks_nan_pixels():
    logits = np.array([[[0.0, 1.0]], [[2.0, np.nan]]], np.float32)  # [K=2, H=1, W=2]
    assert class_map(logits).tolist() == [[1, 255]]


def test_mask_agreement_by_hand():
    ref = np.array([0, 0, 1, 1, 2, 255], np.uint8)
    oth = np.array([0, 1, 1, 1, 0, 2], np.uint8)
    a = mask_agreement(ref, oth, 4)
    # compared: first five pixels. class 0: inter 1, union 3; class 1: inter 2, union 3; class 2: 0 / 1; class 3 absent
    assert a['iou'] == [1 / 3, 2 / 3, 0.0, None]
    assert math.isclose(a['miou'], (1 / 3 + 2 / 3 + 0) / 3)
    assert a['pixel_agreement'] == 3 / 5


def test_mask_agreement_on_image_reads_each_map_through_its_placement():
    # The same 4x4 image seen at 2x2 (stretch) by one model and at 4x4 by the other: identical maps agree.
    small = np.array([[0, 1], [2, 3]], np.uint8)
    big = small.repeat(2, 0).repeat(2, 1)
    p_small = {'inputWidth': 2, 'inputHeight': 2, 'offsetX': 0.0, 'offsetY': 0.0, 'scaleX': 0.5, 'scaleY': 0.5}
    p_big = {'inputWidth': 4, 'inputHeight': 4, 'offsetX': 0.0, 'offsetY': 0.0, 'scaleX': 1.0, 'scaleY': 1.0}
    a = mask_agreement_on_image((small, p_small), (big, p_big), 4, 4, 4)
    assert a['miou'] == 1.0 and a['pixel_agreement'] == 1.0


def box(x0, y0, x1, y1, c, score=1.0):
    return {'x0': x0, 'y0': y0, 'x1': x1, 'y1': y1, 'class_id': c, 'score': score}


def test_box_agreement_by_hand():
    ref = [box(0, 0, 10, 10, 1), box(20, 20, 30, 30, 2)]
    other = [box(0, 0, 10, 12, 1, 0.9), box(20, 20, 30, 30, 1, 0.8), box(50, 50, 60, 60, 2, 0.7)]
    # first: IoU 100/120 with ref 0 (same class) → matched; second: class differs; third: no overlap
    f = box_agreement(ref, other)
    assert f['matched'] == 1 and f['precision'] == 1 / 3 and f['recall'] == 1 / 2
    assert math.isclose(f['f1'], 2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2))
    assert box_comparison([], [], 'teacher')['value'] is None  # nothing to compare is not 100 %
    assert box_comparison(ref, [], 'teacher')['value'] == 0.0


def test_box_confusion_by_hand():
    ref = [box(0, 0, 10, 10, 1), box(20, 20, 30, 30, 2), box(40, 40, 50, 50, 3)]
    # matched whatever the class: a bolt called a bolt, a nut called a bolt, an extra box; the washer is missed
    other = [box(0, 0, 10, 12, 1, 0.9), box(20, 20, 30, 30, 1, 0.8), box(70, 70, 80, 80, 2, 0.7)]
    counts = box_confusion(ref, other)
    assert counts == {(1, 1): 1, (2, 1): 1, (None, 2): 1, (3, None): 1}
    table, per_class = pooled_box_confusion(counts, lambda k: f'c{k}')
    assert table['class_ids'] == [1, 2, 3, None] and table['classes'] == ['c1', 'c2', 'c3', NO_BOX]
    assert table['matrix'] == [[1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 1, 0, 0]]
    f1 = {c['class_id']: c['value'] for c in per_class}
    # class 1: 1 hit, 0 missed, 1 extra (the nut called a bolt) → 2/3; class 2: 0 hits → 0; class 3: 0 hits → 0
    assert f1 == {1: 2 / 3, 2: 0.0, 3: 0.0}
    # a higher-scored box takes the reference box first, even of another class
    assert box_confusion([box(0, 0, 10, 10, 1)], [box(0, 0, 10, 10, 2, 0.9), box(0, 0, 10, 10, 1, 0.5)]) == {
        (1, 2): 1,
        (None, 1): 1,
    }
    assert box_confusion([], []) == {}


def test_coco_ap_per_image_and_pooled():
    coco = {
        'images': [{'id': 1, 'file_name': 'a.png'}, {'id': 2, 'file_name': 'b.png'}, {'id': 3, 'file_name': 'c.png'}],
        'annotations': [
            {'id': 1, 'image_id': 1, 'category_id': 1, 'bbox': [0, 0, 10, 10], 'area': 100, 'iscrowd': 0},
            {'id': 2, 'image_id': 2, 'category_id': 1, 'bbox': [0, 0, 10, 10], 'area': 100, 'iscrowd': 0},
        ],
        'categories': [{'id': 1, 'name': 'bolt'}],
    }
    images = [{'name': n} for n in ('a.png', 'b.png', 'c.png')]
    # a.png found exactly; b.png missed (its box elsewhere); c.png has no object and no box
    dets = {'m': {'a.png': [[0, 0, 10, 10, 0.9, 1]], 'b.png': [[50, 50, 10, 10, 0.8, 1]], 'c.png': []}}
    ap = _coco_ap(coco, images, dets)['m']
    # (pycocotools divides by tp + fp + eps: a perfect image is 1 − 2⁻⁵² rather than 1)
    assert ap['images'] == {'a.png': pytest.approx((1.0, 1.0)), 'b.png': (0.0, 0.0), 'c.png': (None, None)}
    # pooled: 2 objects, the first box right, the second wrong: precision 1 up to recall ½, then nothing
    assert ap['ap'] == pytest.approx(51 / 101) and ap['ap50'] == pytest.approx(51 / 101) and ap['n'] == 3


def test_summary_means_intervals_and_share():
    rows = [
        {'image': 'a', 'model': 't', 'vs_truth': {'against': TRUTH, 'metric': 'box_f1', 'value': 0.8}},
        {'image': 'a', 'model': 's', 'vs_truth': {'against': TRUTH, 'metric': 'box_f1', 'value': 0.4}},
        {'image': 'b', 'model': 't', 'vs_truth': {'against': TRUTH, 'metric': 'box_f1', 'value': 0.6}},
        {'image': 'b', 'model': 's', 'vs_truth': {'against': TRUTH, 'metric': 'box_f1', 'value': None}},
    ]
    s = {e['model']: e for e in summarise(rows, 't', {'resamples': 100, 'seed': 1, 'level': 0.95})}
    assert s['t']['n'] == 2 and math.isclose(s['t']['mean'], 0.7)
    assert s['s']['n'] == 1 and s['s']['mean'] == 0.4 and s['s']['ci'] == [pytest.approx(0.4)] * 2
    assert math.isclose(s['s']['share_of_reference'], 0.4 / 0.7)


def test_image_id_covers_size_and_pixels():
    a = np.zeros((2, 3, 4), np.uint8)
    assert image_id(a) != image_id(np.zeros((3, 2, 4), np.uint8))  # same bytes, other shape
    b = a.copy()
    b[1, 2, 0] = 1
    assert image_id(a) != image_id(b) and len(image_id(a)) == 16


@pytest.fixture(scope='module')
def segmentation_run():
    models = [MODELS / f'{m}.onnx' for m in ('seg-teacher', 'seg-student-attnfd', 'seg-student-plain')]
    return evaluate(models, GALLERY, workers=2, batch=4, resamples=200)


@pytest.fixture(scope='module')
def detection_run():
    models = [MODELS / f'{m}.onnx' for m in ('detr-teacher', 'detr-student-hybrid')]
    return evaluate(models, GALLERY, workers=2, batch=4, resamples=200)


def test_segmentation_matches_the_model_cards(segmentation_run):
    doc = segmentation_run
    assert validate_results(doc) == []
    assert len(doc['images']) == 16 and all(im['truth'] for im in doc['images'])
    assert doc['reference'] == 'seg-teacher'
    for model in ('seg-teacher', 'seg-student-attnfd', 'seg-student-plain'):
        per_class = {r['class']: r['value'] for r in doc['per_class'] if r['model'] == model and r['against'] == TRUTH}
        card = CARD[model]['iou_per_class']
        assert per_class.keys() == card.keys()
        for name, value in card.items():
            assert per_class[name] == pytest.approx(value, abs=1e-6), (model, name)
    rows = [r for r in doc['rows'] if r['model'] == 'seg-student-attnfd']
    assert len(rows) == 16 and all(r['vs_reference']['metric'] == 'mask_miou' for r in rows)


def test_detection_ap_matches_the_model_cards(detection_run):
    doc = detection_run
    assert validate_results(doc) == []
    ap = {(s['model'], s['metric']): s['mean'] for s in doc['summary'] if s['metric'].startswith('box_ap')}
    for model in ('detr-teacher', 'detr-student-hybrid'):
        assert ap[(model, 'box_ap')] == pytest.approx(CARD[model]['ap'], abs=1e-5)
        assert ap[(model, 'box_ap50')] == pytest.approx(CARD[model]['ap50'], abs=1e-5)
    f1 = [s for s in doc['summary'] if s['model'] == 'detr-student-hybrid' and s['against'] == 'detr-teacher']
    assert f1[0]['metric'] == 'box_f1' and f1[0]['n'] >= 1 and f1[0]['ci'][0] <= f1[0]['mean'] <= f1[0]['ci'][1]
    share = next(s for s in doc['summary'] if s['model'] == 'detr-student-hybrid' and s['metric'] == 'box_ap')
    ratio = CARD['detr-student-hybrid']['ap'] / CARD['detr-teacher']['ap']  # the cards round to 6 digits
    assert share['share_of_reference'] == pytest.approx(ratio, abs=1e-4)
    for row in doc['rows']:  # each image's own AP is in [0, 1] (every gallery image has objects)
        assert 0 <= row['vs_truth']['ap'] <= row['vs_truth']['ap50'] <= 1


def test_box_confusion_counts_every_box_once(detection_run):
    doc = detection_run
    for table in (t for t in doc['confusion'] if t['unit'] == 'boxes'):
        m = np.array(table['matrix'])
        rows = [r for r in doc['rows'] if r['model'] == table['model']]
        side = 'vs_truth' if table['against'] == TRUTH else 'vs_reference'
        # every box of the 'against' side in one row (the last column: missed), every model box in one column
        assert m[:-1].sum() == sum(r[side]['reference_count'] for r in rows)
        assert m[:, :-1].sum() == sum(r[side]['predicted'] for r in rows)
        assert m[-1, -1] == 0 and table['class_ids'][-1] is None
    pairs = {(t['model'], t['against']) for t in doc['confusion']}
    assert pairs == {('detr-teacher', TRUTH), ('detr-student-hybrid', TRUTH), ('detr-student-hybrid', 'detr-teacher')}
    assert {c['metric'] for c in doc['per_class']} == {'f1'}


def test_a_worker_killed_mid_run_changes_nothing(detection_run, tmp_path, monkeypatch):
    marker = tmp_path / 'crashed'
    monkeypatch.setenv('ATTNLENS_TEST_CRASH_ONCE', str(marker))
    models = [MODELS / f'{m}.onnx' for m in ('detr-teacher', 'detr-student-hybrid')]
    again = evaluate(models, GALLERY, workers=2, batch=4, resamples=200)
    assert marker.exists(), 'the worker never crashed: the test proves nothing'
    strip = lambda rows: [{k: v for k, v in r.items() if k != 'latency_ms'} for r in rows]  # noqa: E731
    assert strip(again['rows']) == strip(detection_run['rows'])
    assert again['summary'] == detection_run['summary']


def test_schema_refuses_a_broken_document(segmentation_run):
    doc = json.loads(json.dumps(segmentation_run))
    doc['rows'][0]['latency_ms'] = -1
    del doc['reference']
    problems = validate_results(doc)
    assert any(p.startswith('(top)') and 'reference' in p for p in problems)
    assert any(p.startswith('rows/0/latency_ms') for p in problems)


def test_a_folder_of_own_images(tmp_path):
    """Odd sizes, grayscale, a corrupt file and two names for the same pixels, no ground truth."""
    from PIL import Image

    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (120, 300, 3), np.uint8)).save(tmp_path / 'wide.jpg', quality=90)
    Image.fromarray(rng.integers(0, 255, (400, 90), np.uint8)).save(tmp_path / 'tall-gray.png')
    (tmp_path / 'sub').mkdir()
    Image.open(ROOT / 'public' / 'samples' / 'factory-test-003.png').save(tmp_path / 'sub' / 'a.png')
    Image.open(ROOT / 'public' / 'samples' / 'factory-test-003.png').save(tmp_path / 'sub' / 'copy.png')
    (tmp_path / 'broken.png').write_bytes(b'\x89PNG\r\n\x1a\n not really')
    models = [MODELS / f'{m}.onnx' for m in ('seg-teacher', 'seg-student-plain')]
    doc = evaluate(models, tmp_path, workers=1, batch=2, resamples=50)
    assert validate_results(doc) == []
    assert [im['name'] for im in doc['images']] == ['sub/a.png', 'tall-gray.png', 'wide.jpg']
    assert [(im['width'], im['height']) for im in doc['images']] == [(160, 160), (90, 400), (300, 120)]
    assert {k['name']: k['reason'][:20] for k in doc['skipped']} == {
        'broken.png': 'not an image PIL can',
        'sub/copy.png': 'the same pixels as s',
    }
    assert doc['ground_truth'] is None
    assert all('vs_truth' not in r for r in doc['rows'])
    student = [r for r in doc['rows'] if r['model'] == 'seg-student-plain']
    assert len(student) == 3 and all(r['vs_reference']['against'] == 'seg-teacher' for r in student)


def test_canonical_json_keys_keep_their_letters():
    assert canonical_json({'é': 1}) == '{"é":1}'  # as JSON.stringify


def test_the_test_split_matches_the_model_cards(tmp_path):
    """The cards' `test` numbers are over the first 400 test scenes: the same numbers from a results file."""
    import importlib.util

    spec = importlib.util.spec_from_file_location('make_eval_set', ROOT / 'ml' / 'scripts' / 'make_eval_set.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    coco = module.make_set(tmp_path / 'test', 400)
    cards = {m['id']: m['metrics']['test'] for m in INDEX['models']}
    doc = evaluate([MODELS / 'seg-teacher.onnx', MODELS / 'detr-teacher.onnx'], coco, workers=2, resamples=20)
    assert validate_results(doc) == [] and len(doc['images']) == 400
    per_class = {r['class']: r['value'] for r in doc['per_class'] if r['model'] == 'seg-teacher'}
    assert per_class == pytest.approx(cards['seg-teacher']['iou_per_class'], abs=1e-6)
    ap = {s['metric']: s['mean'] for s in doc['summary'] if s['model'] == 'detr-teacher'}
    assert ap['box_ap'] == pytest.approx(cards['detr-teacher']['ap'], abs=1e-5)
    assert ap['box_ap50'] == pytest.approx(cards['detr-teacher']['ap50'], abs=1e-5)


def test_failures_by_hand():
    from attnlens_ml.results import failures

    def gt(x, c=1):
        return {'x0': x, 'y0': 0, 'x1': x + 10, 'y1': 10, 'class_id': c}

    truth = [gt(0), gt(20), gt(40), gt(60, 2)]
    f = failures(truth, [box(0, 0, 10, 10, 1), box(21, 0, 31, 10, 1)], [box(19, 0, 29, 10, 1), box(40, 0, 50, 10, 1),
                 box(60, 0, 70, 10, 1)], 100, 10)  # fmt: skip
    assert f == {'unit': 'objects', 'only_reference': 1, 'only_model': 1, 'neither': 1, 'total': 4}
    p = {'inputWidth': 3, 'inputHeight': 2, 'offsetX': 0, 'offsetY': 0, 'scaleX': 1, 'scaleY': 1}
    t = np.array([[0, 1, 1], [2, 2, 1]], np.uint8)
    a = np.array([[0, 1, 0], [2, 0, 255]], np.uint8)
    b = np.array([[0, 0, 1], [1, 0, 1]], np.uint8)
    assert failures((t, p), (a, p), (b, p), 3, 2) == {
        'unit': 'pixels', 'only_reference': 2, 'only_model': 1, 'neither': 1, 'total': 5}  # fmt: skip


def test_a_model_that_takes_batches_runs_them_in_one_call(tmp_path):
    """The same rows whether a model runs its batch in one call (batch axis left open in its graph) or one by one."""
    import onnx

    from attnlens_ml.evaluate import Evaluator, _model_facts

    def with_batch(model_id: str, batch: int | str, folder: str) -> Path:
        """The zoo file with its batch axis fixed at `batch` (an int) or named (a str); the zoo's is open."""
        m = onnx.load(str(MODELS / f'{model_id}.onnx'))
        for v in [*m.graph.input, *m.graph.output]:
            dim = v.type.tensor_type.shape.dim[0]
            dim.Clear()
            if isinstance(batch, int):
                dim.dim_value = batch
            else:
                dim.dim_param = batch
        (tmp_path / folder).mkdir(exist_ok=True)
        out = tmp_path / folder / f'{model_id}.onnx'
        onnx.save(m, str(out))
        return out

    dynamic = with_batch('seg-student-plain', 'N', 'open')
    fixed = [with_batch('seg-teacher', 1, 'fixed'), with_batch('seg-student-plain', 1, 'fixed')]
    models = [_model_facts(p) for p in [fixed[0], dynamic]]
    actor = Evaluator(models, {}, None, 'seg-teacher')
    assert actor.batched == {'seg-teacher': False, 'seg-student-plain': True}
    calls = []
    session = actor.sessions['seg-student-plain']
    actor.sessions['seg-student-plain'] = type('Spy', (), {
        'run': lambda self, names, feed: calls.append(len(next(iter(feed.values())))) or session.run(names, feed),
        'get_inputs': lambda self: session.get_inputs()})()  # fmt: skip
    names = [f'factory-test-{i:03d}.png' for i in range(5)]
    batch = {'name': names, 'data': [(ROOT / 'public' / 'samples' / n).read_bytes() for n in names]}
    batched = [json.loads(r) for r in actor(batch)['result']]
    assert calls == [5]  # one call for the five images
    one_by_one = [
        json.loads(r) for r in Evaluator([_model_facts(p) for p in fixed], {}, None, 'seg-teacher')(batch)['result']
    ]
    strip = lambda r: [{k: v for k, v in row.items() if k != 'latency_ms'} for row in r['rows']]  # noqa: E731
    for a, b in zip(batched, one_by_one):
        assert a['image'] == b['image']
        for x, y in zip(strip(a), strip(b)):
            assert x.keys() == y.keys()
            if 'vs_reference' in x:
                assert x['vs_reference']['value'] == pytest.approx(y['vs_reference']['value'], abs=1e-4)
