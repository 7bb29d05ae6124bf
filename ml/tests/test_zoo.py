"""Every shipped model: contract valid and true to its graph, runs in onnxruntime with the declared shapes,
matches PyTorch on a fixed input, and reproduces the numbers its card (index.json) states on the slice."""

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from PIL import Image

from attnlens_ml import zoo
from attnlens_ml.contract import check_against_graph, read_contract, validate_contract
from attnlens_ml.data import render_scene, split_seed

ROOT = Path(__file__).resolve().parents[2]
INDEX = json.loads((ROOT / 'public' / 'models' / 'index.json').read_text())
MODELS = {m['id']: m for m in INDEX['models']}


def test_zoo_lists_every_model_and_pairs():
    assert {
        'seg-teacher',
        'seg-student-plain',
        'seg-student-attnfd',
        'vit-attn',
        'detr-teacher',
        'detr-student-hybrid',
        'detr-student-o2o',
        'detr-student-ks',
        'sak-student',
    } <= set(MODELS)
    for pair in INDEX['pairs']:
        assert MODELS[pair['teacher']]['role'] == 'teacher' and MODELS[pair['student']]['role'] == 'student'


def test_vit_exports_every_layers_full_attention():
    contract = read_contract(onnx.load(str(ROOT / 'public' / MODELS['vit-attn']['file'])))
    (full,) = [o for o in contract['outputs'] if o['role'] == 'self_attention']
    (rows,) = [o for o in contract['outputs'] if o['role'] == 'cls_attention']
    assert contract['version'] == '1.2'
    assert full['layers'] == rows['layers'] == list(range(rows['shape'][1]))
    assert full['shape'] == [1, rows['shape'][1], rows['shape'][2], rows['shape'][3] + 1, rows['shape'][3] + 1]


def test_zoo_size_budget():
    assert sum(m['bytes'] for m in INDEX['models']) < 60e6
    for m in INDEX['models']:
        assert m['bytes'] < (3e6 if m['role'] == 'student' else 15e6), m['id']


@pytest.fixture(scope='module', params=sorted(MODELS))
def shipped(request):
    entry = MODELS[request.param]
    path = ROOT / 'public' / entry['file']
    return entry, path, onnx.load(str(path))


def test_file_matches_index(shipped):
    entry, path, _ = shipped
    data = path.read_bytes()
    assert len(data) == entry['bytes'] and hashlib.sha256(data).hexdigest() == entry['sha256']


def test_contract_is_valid_and_true_to_the_graph(shipped):
    entry, _, proto = shipped
    contract = read_contract(proto)
    assert contract is not None and contract['model']['id'] == entry['id']
    assert validate_contract(contract) == []
    assert check_against_graph(contract, proto) == []
    assert proto.opset_import[0].version >= 17


def test_runs_with_declared_shapes_and_matches_pytorch(shipped):
    entry, path, proto = shipped
    contract = read_contract(proto)
    x = zoo.parity_input().numpy()
    outputs = dict(
        zip(
            [o['name'] for o in contract['outputs']],
            zoo.ort_session(path).run([o['name'] for o in contract['outputs']], {'image': x}),
        )
    )
    fixture = np.load(ROOT / 'ml' / 'tests' / 'fixtures' / f'parity-{entry["id"]}.npz')
    for o in contract['outputs']:
        got = outputs[o['name']]
        assert list(got.shape) == o['shape'], o['name']
        assert np.isfinite(got).all(), o['name']
        idx = fixture[f'{o["name"]}::index']
        np.testing.assert_allclose(
            got.ravel()[idx], fixture[f'{o["name"]}::value'], atol=1e-5, rtol=1e-3, err_msg=o['name']
        )
        if o['role'] in ('cbam_channel_gate', 'cbam_spatial_gate'):
            assert got.min() >= 0 and got.max() <= 1
        if o['role'] == 'cls_attention':
            assert (got >= 0).all() and (got.sum(-1) <= 1 + 1e-5).all()
        if o['role'] == 'self_attention':
            assert (got >= 0).all()
            np.testing.assert_allclose(got.sum(-1), 1, atol=1e-4, err_msg=o['name'])
            assert o['cls_token'] == 'leads' and got.shape[-1] == o['grid'][0] * o['grid'][1] + 1
            # CLS's row over the patch keys is the model's cls_attention, layer for layer
            rows = next(p for p in contract['outputs'] if p['role'] == 'cls_attention' and p['keys'] == 'patches')
            np.testing.assert_allclose(got[:, rows['layers']][:, :, :, 0, 1:], outputs[rows['name']], atol=1e-6)


def test_interval_differences_are_the_cards_test_figures():
    """Each comparison's A − B (re-measured per image by remeasure_cards.py / the pipeline) is the difference
    of the two models' test figures in index.json, and its interval holds it: the intervals are not stale."""
    index = json.loads((ROOT / 'public' / 'models' / 'index.json').read_text())
    models = {m['id']: m for m in index['models']}
    intervals = index['experiments']['intervals']
    assert {(c['a'], c['b']) for c in intervals} == {(a, b) for a, b, *_ in zoo.COMPARISONS}
    for c in intervals:
        want = models[c['a']]['metrics']['test'][c['metric']] - models[c['b']]['metrics']['test'][c['metric']]
        assert c['diff'] == pytest.approx(want, abs=2e-6), (c['a'], c['b'])
        assert c['ci'][0] <= c['diff'] <= c['ci'][1] and c['images'] == 400


@pytest.mark.parametrize('key', ['few_masks_controls', 'full_masks_controls'])
def test_mask_controls_in_the_cards_are_the_result_files(key):
    """The cards' few- and full-mask controls (experiments --summary --into-cards) are the committed result files,
    each at the labelled share its section says."""
    index = json.loads((ROOT / 'public' / 'models' / 'index.json').read_text())
    fm = index['experiments'].get(key)
    if fm is None:
        pytest.skip(f'no {key} run has finished yet')
    out = ROOT / 'ml' / 'experiments' / fm['experiment']
    for arm, a in fm['arms'].items():
        for seed, miou in zip(a['seeds'], a['test_miou']):
            doc = json.loads((out / f'{arm}-s{seed}.json').read_text())
            assert doc['test']['miou'] == miou and doc['counted']['labelled_presentations'] == 1600 * 16
            assert doc['settings']['labelled_fraction'] == fm['labelled_fraction']
    for c in fm['contrasts'].values():
        d = c['miou']
        assert d['ci'][0] <= d['diff'] <= d['ci'][1]


def test_sak_balance_in_the_cards_is_the_result_files_and_the_shipped_student_its_balanced_arm():
    """The cards' router-balancing arms are the committed result files; the shipped sak-student is the balanced
    arm it names: its router spread as that run's (mean weights from the file within 0.01 of the PyTorch run's)."""
    index = json.loads((ROOT / 'public' / 'models' / 'index.json').read_text())
    bal = index['experiments'].get('sak_balance')
    if bal is None:
        pytest.skip('the SAK balancing runs have not been summarised yet')
    out = ROOT / 'ml' / 'experiments' / bal['experiment']
    for arm, a in bal['arms'].items():
        for i, seed in enumerate(a['seeds']):
            doc = json.loads((out / f'{arm}-s{seed}.json').read_text())
            assert doc['test']['miou'] == a['test_miou'][i]
            for p in bal['paths']:
                assert doc['test']['router_mean'][p] == a['router_mean'][p][i]
    shipped = bal.get('shipped')
    if shipped:
        run = json.loads((out / f'{shipped["arm"]}-s{shipped["seed"]}.json').read_text())
        file_router = index['experiments']['sak']['router_mean']
        want = [run['test']['router_mean'][p] for p in bal['paths']]
        assert file_router == pytest.approx(want, abs=0.01)
        sak = next(m for m in index['models'] if m['id'] == 'sak-student')
        assert sak['training']['arm'] == shipped['arm'] and sak['training']['seed'] == shipped['seed']
        assert sak['metrics']['test']['miou'] == pytest.approx(run['test']['miou'], abs=1e-3)


def test_detector_seeds_in_the_cards_are_the_zoo_files_and_the_result_files():
    """The cards' detector seeds (experiments detr-seeds --summary --into-cards): seed 0 is the shipped file's test
    AP, every other seed its committed result file; each contrast's mean is the mean of its per-seed differences."""
    index = json.loads((ROOT / 'public' / 'models' / 'index.json').read_text())
    d = index['experiments'].get('detector_seeds')
    if d is None:
        pytest.skip('the detector seeds have not been summarised yet')
    models = {m['id']: m for m in index['models']}
    out = ROOT / 'ml' / 'experiments' / d['experiment']
    for arm, a in d['arms'].items():
        assert a['seeds'][0] == 0
        assert a['test_ap'][0] == pytest.approx(models[a['zoo_id']]['metrics']['test']['ap'], abs=1e-5)
        for seed, ap in zip(a['seeds'][1:], a['test_ap'][1:]):
            assert json.loads((out / f'{arm}-s{seed}.json').read_text())['test_ap'] == pytest.approx(ap, abs=1e-6)
    for c in d['contrasts']:
        assert c['diff'] == pytest.approx(sum(c['per_seed_diff']) / len(c['per_seed_diff']), abs=1e-5)
        assert c['ci'][0] <= c['diff'] <= c['ci'][1]


def test_the_shipped_few_masks_pair_is_the_fair_controls_supervised_and_attnfd_arms():
    """The zoo's few-masks pair is the fair controls' supervised and AttnFD arms of one seed: the index entries say
    so, and their test mIoU (from the ONNX files) equals the result files' (from PyTorch) to float rounding."""
    index = json.loads((ROOT / 'public' / 'models' / 'index.json').read_text())
    fm = index['experiments']['few_masks_controls']
    shipped = fm['shipped']
    models = {m['id']: m for m in index['models']}
    out = ROOT / 'ml' / 'experiments' / fm['experiment']
    for arm in ('supervised', 'attnfd'):
        entry = models[shipped[arm]]
        assert entry['training']['arm'] == arm and entry['training']['seed'] == shipped['seed']
        doc = json.loads((out / f'{arm}-s{shipped["seed"]}.json').read_text())
        assert entry['metrics']['test']['miou'] == pytest.approx(doc['test']['miou'], abs=1e-3)
        assert entry['training']['labelled_presentations'] == doc['counted']['labelled_presentations']


def test_card_numbers_reproduce_on_the_gallery_slice(shipped):
    entry, path, _ = shipped
    want = entry['metrics']['check_slice']
    n = want['images']
    images = np.stack(
        [
            np.asarray(Image.open(ROOT / 'public' / 'samples' / f'factory-test-{i:03d}.png').convert('RGB'))
            for i in range(n)
        ]
    )
    semantic = np.stack([render_scene(split_seed('test', i), 160).semantic for i in range(n)])
    if entry['task'] == 'detection':
        got = zoo.detr_metrics_onnx(path, images, 'test')
        assert got['ap'] == pytest.approx(want['ap'], abs=1e-5) and got['ap50'] == pytest.approx(want['ap50'], abs=1e-5)
    elif entry['task'] == 'segmentation':
        got = zoo.seg_metrics_onnx(path, images, semantic)
        assert got['miou'] == pytest.approx(want['miou'], abs=1e-5)
        for k, v in want['iou_per_class'].items():
            assert (got['iou_per_class'][k] is None) == (v is None) and (
                v is None or got['iou_per_class'][k] == pytest.approx(v, abs=1e-5)
            )
    else:
        objects = [[inst.mask for inst in render_scene(split_seed('test', i), 160).instances] for i in range(n)]
        got = zoo.vit_metrics_onnx(path, images, semantic, 8, 20, objects=objects)
        assert got['dino_last_layer_heads'] == pytest.approx(want['dino_last_layer_heads'], abs=1e-5)
        for k in (
            'dino_iou_last_layer',
            'cst_iou',
            'ceiling_patch_iou',
            'baseline_whole_image_iou',
            'dino_rule_on_flat_foreground_iou',
            'dino_rule_on_fraction_map_iou',
        ):
            assert got[k] == pytest.approx(want[k], abs=1e-5), k


def test_the_detection_teacher_finds_the_gallery_parts_at_its_threshold_and_the_cards_say_its_budget():
    """The shipped detr-teacher is the long run the pipeline names; at the threshold its contract carries it draws
    the boxes the cards state over the gallery (recounted here from the file, decoding written out in numpy) and
    finds most of the gallery's parts; the cards say its budget is not the students'."""
    from attnlens_ml.contract import read_contract
    from attnlens_ml.detr_teacher import teacher_run
    from attnlens_ml.thresholds import ground_truth, true_positives

    index = json.loads((ROOT / 'public' / 'models' / 'index.json').read_text())
    doc = index['experiments'].get('detector_teacher')
    if doc is None:
        pytest.skip('the long-trained detection teacher has not been shipped yet')
    entry = next(m for m in index['models'] if m['id'] == 'detr-teacher')
    assert entry['training']['steps'] == doc['after']['steps'] == teacher_run()['steps'] > doc['student_steps']
    path = ROOT / 'public' / entry['file']
    contract = read_contract(onnx.load(str(path)))
    head = next(o for o in contract['outputs'] if o['role'] == 'box_logits' and o['block'] == 'one_to_one')
    threshold = head['score_threshold']
    assert threshold == entry['score_threshold']['value'] == doc['after']['gallery']['threshold']

    sess = zoo.ort_session(path)
    n = doc['after']['gallery']['images']
    truths = ground_truth('test', n)
    boxes, found = 0, 0
    for i in range(n):
        img = np.asarray(Image.open(ROOT / 'public' / 'samples' / f'factory-test-{i:03d}.png').convert('RGB'))
        logits, cxcywh = sess.run(['o2o.logits', 'o2o.boxes'], {'image': zoo.preprocess(img[None])})
        score = 1 / (1 + np.exp(-logits[0].max(-1)))
        keep = score >= threshold
        cx, cy, w, h = (cxcywh[0][keep] * 160).T
        xyxy = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], -1)
        labels = np.array(head['labels'])[logits[0].argmax(-1)][keep]
        boxes += int(keep.sum())
        found += true_positives((score[keep], labels, xyxy), truths[i])
    objects = sum(len(c) for c, _ in truths)
    assert boxes == doc['after']['gallery']['boxes'] and objects == doc['after']['gallery']['objects']
    assert found / objects >= 0.5, f'the teacher finds {found} of {objects} gallery parts'
    cards = (ROOT / 'docs' / 'model-cards.md').read_text()
    assert 'Teacher-versus-student gaps therefore include' in cards


def test_what_the_teacher_finds_per_class_in_the_cards_is_its_file_on_the_test_split():
    """index.json's found_at_threshold of detr-teacher (the cards' per-class table) recounted from the file."""
    from attnlens_ml.dataset import load_split
    from attnlens_ml.thresholds import found_per_class, ground_truth, predictions

    entry = MODELS['detr-teacher']
    want = entry.get('found_at_threshold')
    if want is None:
        pytest.skip('the per-class counts have not been measured yet')
    images = load_split(want['split'])['images'][: want['images']]
    got = found_per_class(
        predictions(ROOT / 'public' / entry['file'], images),
        ground_truth(want['split'], len(images)),
        want['threshold'],
    )
    assert got == want['per_class'] and want['threshold'] == entry['score_threshold']['value']
    assert sum(c['truth'] for c in got.values()) == sum(len(c) for c, _ in ground_truth(want['split'], len(images)))
