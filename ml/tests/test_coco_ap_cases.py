"""The committed pycocotools reference for src/evaluate/cocoAp.ts is what ml/scripts/make_coco_ap_cases.py makes."""

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / 'ml' / 'scripts' / 'make_coco_ap_cases.py'


def load_script():
    spec = importlib.util.spec_from_file_location('make_coco_ap_cases', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fixture_is_what_pycocotools_makes_now():
    script = load_script()
    # Compared as data: the committed file is biome-formatted, the script writes it compact.
    committed = json.loads(script.OUT.read_text())
    assert committed['generator'] == 'ml/scripts/make_coco_ap_cases.py'
    made = json.loads(json.dumps(script.make_cases()))
    assert [c['name'] for c in committed['cases']] == [c['name'] for c in made]
    for mine, theirs in zip(committed['cases'], made):
        assert mine == theirs, mine['name']


def test_fixture_covers_what_the_port_must_get_right():
    cases = json.loads(load_script().OUT.read_text())['cases']
    annotations = [a for c in cases for a in c['gt']['annotations']]
    assert any(a['iscrowd'] for a in annotations)
    assert any(a['area'] > 1e10 for a in annotations)
    # More than 100 detections of one (image, category), a case without detections, and scores shared by several.
    counts = {}
    for n, c in enumerate(cases):
        for d in c['detections']:
            key = (n, d['image_id'], d['category_id'])
            counts[key] = counts.get(key, 0) + 1
    assert max(counts.values()) > 100
    assert any(not c['detections'] for c in cases)
    scores = [d['score'] for c in cases for d in c['detections']]
    assert len(set(scores)) < len(scores)
    # Pooled and per-image numbers, and images with nothing to average (null).
    assert all(c['pooled'].keys() == {'ap', 'ap50'} for c in cases)
    assert any(p['ap'] is None for c in cases for p in c['per_image'])
