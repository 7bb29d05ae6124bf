"""Letterbox test variants (public/models/variants, index.json "variants") and their native reference fixture."""

import base64
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from attnlens_ml.contract import check_against_graph, read_contract, validate_contract

ROOT = Path(__file__).resolve().parents[2]
INDEX = json.loads((ROOT / 'public' / 'models' / 'index.json').read_text())
MODELS = {m['id']: m for m in INDEX['models']}
FIXTURE = ROOT / 'tests' / 'fixtures' / 'letterbox' / 'reference.json'


@pytest.mark.parametrize('variant', INDEX.get('variants', []), ids=lambda v: v['id'])
def test_variant_is_its_model_with_a_letterbox_contract(variant):
    path = ROOT / 'public' / variant['file']
    data = path.read_bytes()
    assert len(data) == variant['bytes'] and hashlib.sha256(data).hexdigest() == variant['sha256']
    assert variant['id'] not in MODELS and variant['of'] in MODELS
    proto, source = onnx.load(str(path)), onnx.load(str(ROOT / 'public' / MODELS[variant['of']]['file']))
    assert proto.graph.SerializeToString() == source.graph.SerializeToString()
    c, s = read_contract(proto), read_contract(source)
    assert validate_contract(c) == [] and check_against_graph(c, proto) == []
    assert c['model']['id'] == variant['id'] and c['input']['resize'] == 'letterbox'
    assert c['input']['letterbox_fill'] == variant['letterbox_fill'] == [114, 114, 114]
    assert c['outputs'] == s['outputs'] and c['classes'] == s['classes'] and c['version'] == s['version']
    assert {k: v for k, v in c['input'].items() if k not in ('resize', 'letterbox_fill')} == {
        k: v for k, v in s['input'].items() if k not in ('resize', 'letterbox_fill')
    }


def test_reference_fixture_reproduces():
    sys.path.insert(0, str(ROOT / 'ml' / 'scripts'))
    import letterbox_reference as ref

    doc = json.loads(FIXTURE.read_text())
    assert FIXTURE.stat().st_size < 200_000
    det_c, det_s = ref.load(ref.DETECTOR)
    seg_c, seg_s = ref.load(ref.SEGMENTER)
    images = ref.make_images()
    for case in doc['cases']:
        image = images[case['image']]
        h, w, _ = image.shape
        assert (case['width'], case['height']) == (w, h)
        p = ref.placement(w, h, det_c['input'])
        assert p == case['placement']
        x = ref.to_tensor(ref.letterbox(image, p, det_c['input']['letterbox_fill']), det_c['input'])
        got = ref.detections(det_c, det_s, x, p)
        assert [d['class_id'] for d in got['detections']] == [d['class_id'] for d in case['detector']['detections']]
        for a, b in zip(got['detections'], case['detector']['detections']):
            assert a['score'] == pytest.approx(b['score'], abs=1e-4)
            assert a['score'] >= case['detector']['score_threshold']
            np.testing.assert_allclose(a['box_image_xyxy'], b['box_image_xyxy'], atol=0.01)
            # the hand mapping: image = (input − offset) / s
            np.testing.assert_allclose(
                b['box_image_xyxy'][0], (b['box_input_xyxy'][0] - p['offsetX']) / p['scaleX'], atol=2e-3
            )
            np.testing.assert_allclose(
                b['box_image_xyxy'][1], (b['box_input_xyxy'][1] - p['offsetY']) / p['scaleY'], atol=2e-3
            )
        cmap = seg_s.run(['seg_logits'], {'image': x})[0][0].argmax(0).astype(np.uint8)
        want = np.frombuffer(base64.b64decode(case['segmenter']['class_map']['data']), np.uint8).reshape(cmap.shape)
        assert (cmap == want).mean() > 0.999
        for pt in case['segmenter']['points']:
            u = int(np.floor(pt['x'] * p['scaleX'] + p['offsetX']))
            v = int(np.floor(pt['y'] * p['scaleY'] + p['offsetY']))
            assert (u, v) == (pt['u'], pt['v']) and want[v, u] == pt['class_id']
