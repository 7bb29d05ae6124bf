"""Native reference for the letterbox end-to-end test: two non-square images, letterboxed exactly as the app
does, through the letterbox variants in native onnxruntime → tests/fixtures/letterbox/reference.json.

    cd ml && .venv/bin/python scripts/letterbox_reference.py

Images (written next to the fixture, made from the data generator's test scenes, so they are reproducible):
- landscape-320x180.png: test scene 0 upscaled 2x (nearest) and cropped to rows 70..249. Letterboxed to
  160x160 it is drawn at scale 0.5 at offset (0, 35): every output pixel averages one constant 2x2 block, so
  any resampler (bilinear, box, mipmaps) gives the same bytes — the input tensor is exact.
- portrait-150x260.png: test scene 12 upscaled to 260x260 (PIL bilinear) and cropped to columns 55..204.
  Letterboxed: scale 160/260 = 0.6154, drawn 92.31x160 at offset (33.85, 0): fractional, so the browser's
  resampler and edge anti-aliasing may differ slightly from the emulation here — compare with tolerance.

Placement is the app's (src/analysis/geometry.ts placement()): s = min(W_in/w, H_in/h), offsetX = (W_in − w·s)/2,
offsetY = (H_in − h·s)/2. The canvas is emulated: filled with letterbox_fill, then the image drawn into
[offsetX, offsetX + w·s] × [offsetY, offsetY + h·s] with bilinear sampling at pixel centres (source coordinate
(u + 0.5 − offsetX)/s − 0.5, edges clamped), pixels the image covers only partly blended with the fill by
coverage, rounded to uint8; then normalised as the contract says ((v/scale − mean)/std).
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import numpy as np
import onnx
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from attnlens_ml.app_frame import letterbox, placement, to_tensor  # noqa: E402
from attnlens_ml.contract import read_contract, recommended_score_threshold  # noqa: E402
from attnlens_ml.data import render_scene, split_seed  # noqa: E402
from attnlens_ml.thresholds import decode_one_to_one  # noqa: E402
from attnlens_ml.zoo import ort_session  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / 'tests' / 'fixtures' / 'letterbox'
DETECTOR = 'detr-teacher-letterbox'
SEGMENTER = 'seg-student-attnfd-letterbox'
# Detections this close to the threshold may flip with the browser's resampler: a cruder resampler (PIL's
# antialiased resize to 92x160 at x = 34) moved the portrait's scores by up to 0.035 and swapped which query
# found which object, so match detections by class and box, never by query index.
NEAR = 0.05
# Test scenes (= gallery images factory-test-000 and -012) with several detections and classes in the crops.
LANDSCAPE_SCENE, PORTRAIT_SCENE = 0, 12


def make_images() -> dict[str, np.ndarray]:
    land = render_scene(split_seed('test', LANDSCAPE_SCENE), 160).image.repeat(2, 0).repeat(2, 1)[70:250]
    scene = Image.fromarray(render_scene(split_seed('test', PORTRAIT_SCENE), 160).image)
    port = np.asarray(scene.resize((260, 260), Image.BILINEAR))[:, 55:205]
    return {'landscape-320x180.png': np.ascontiguousarray(land), 'portrait-150x260.png': np.ascontiguousarray(port)}


def load(model_id: str):
    path = ROOT / 'public' / 'models' / 'variants' / f'{model_id}.onnx'
    contract = read_contract(onnx.load(str(path), load_external_data=False))
    assert contract['model']['id'] == model_id and contract['input']['resize'] == 'letterbox'
    return contract, ort_session(path)


def detections(contract, sess, x: np.ndarray, p: dict) -> dict:
    thr = recommended_score_threshold(contract)
    logits_o = next(o for o in contract['outputs'] if o['role'] == 'box_logits' and o['block'] == 'one_to_one')
    boxes_o = next(o for o in contract['outputs'] if o['role'] == 'boxes' and o['block'] == 'one_to_one')
    logits, boxes = sess.run([logits_o['name'], boxes_o['name']], {contract['input']['name']: x})
    scores, classes, xyxy = decode_one_to_one(
        logits[0], boxes[0], logits_o['labels'], p['inputWidth'], p['inputHeight']
    )
    order = np.argsort(-scores, kind='stable')
    kept, near = [], []
    for q in order:
        box_in = [float(v) for v in xyxy[q]]
        # by hand: image x = (input x − offsetX) / s, image y = (input y − offsetY) / s
        box_img = [
            (box_in[0] - p['offsetX']) / p['scaleX'],
            (box_in[1] - p['offsetY']) / p['scaleY'],
            (box_in[2] - p['offsetX']) / p['scaleX'],
            (box_in[3] - p['offsetY']) / p['scaleY'],
        ]
        d = {
            'query': int(q),
            'class_id': int(classes[q]),
            'score': round(float(scores[q]), 6),
            'borderline': bool(abs(scores[q] - thr) < NEAR),
            'box_input_xyxy': [round(v, 3) for v in box_in],
            'box_image_xyxy': [round(v, 3) for v in box_img],
        }
        if scores[q] >= thr:
            kept.append(d)
        elif scores[q] >= thr - NEAR:
            near.append(d)
    return {'model': contract['model']['id'], 'score_threshold': thr, 'detections': kept, 'near_threshold': near}


def _preimage(u: int, offset: float, scale: float) -> int:
    """The smallest image pixel x with floor(x·s + offset) == u (exists when s <= 1)."""
    x = int(np.ceil((u - offset) / scale))
    while x * scale + offset >= u + 1:
        x -= 1
    while x * scale + offset < u:
        x += 1
    return x


def class_map_points(cmap: np.ndarray, p: dict, w: int, h: int, per_class: int = 2, radius: int = 2) -> list[dict]:
    """A few image pixels whose class is robust: the class is the same over a (2·radius+1)² window of the
    class map around the mapped pixel u = floor(x·s + offsetX), v = floor(y·s + offsetY)."""
    H, W = cmap.shape
    pad = np.pad(cmap, radius, mode='edge')
    uniform = np.ones_like(cmap, bool)
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            uniform &= pad[dy : dy + H, dx : dx + W] == cmap
    inside = np.zeros_like(uniform)
    u0, u1 = int(np.ceil(p['offsetX'])) + radius, int(np.floor(p['offsetX'] + w * p['scaleX'])) - 1 - radius
    v0, v1 = int(np.ceil(p['offsetY'])) + radius, int(np.floor(p['offsetY'] + h * p['scaleY'])) - 1 - radius
    inside[v0 : v1 + 1, u0 : u1 + 1] = True
    points = []
    for c in sorted(set(cmap[inside & uniform].tolist())):
        vs, us = np.nonzero(inside & uniform & (cmap == c))
        # spread: the robust pixel nearest the class's robust centroid, then the one farthest from it
        cy, cx = vs.mean(), us.mean()
        d = (vs - cy) ** 2 + (us - cx) ** 2
        for k in [int(d.argmin()), int(d.argmax())][:per_class]:
            u, v = int(us[k]), int(vs[k])
            x, y = _preimage(u, p['offsetX'], p['scaleX']), _preimage(v, p['offsetY'], p['scaleY'])
            assert (
                int(np.floor(x * p['scaleX'] + p['offsetX'])) == u
                and int(np.floor(y * p['scaleY'] + p['offsetY'])) == v
            )
            assert 0 <= x < w and 0 <= y < h
            pt = {'x': x, 'y': y, 'u': u, 'v': v, 'class_id': int(c)}
            if pt not in points:
                points.append(pt)
    return points


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    det_c, det_s = load(DETECTOR)
    seg_c, seg_s = load(SEGMENTER)
    assert det_c['input'] == {**seg_c['input']}, 'the two variants are expected to share one input spec'
    fill = det_c['input']['letterbox_fill']
    cases = []
    for name, image in make_images().items():
        Image.fromarray(image).save(OUT / name, optimize=True)
        assert np.array_equal(np.asarray(Image.open(OUT / name).convert('RGB')), image)
        h, w, _ = image.shape
        p = placement(w, h, det_c['input'])
        rgb = letterbox(image, p, fill)
        x = to_tensor(rgb, det_c['input'])
        logits = seg_s.run(['seg_logits'], {'image': x})[0][0]
        cmap = logits.argmax(0).astype(np.uint8)
        exact = all(float(v).is_integer() for v in (p['offsetX'], p['offsetY'])) and p['scaleX'] == 0.5
        if exact:  # constant 2x2 blocks at scale 0.5: the drawn band is the scene itself, byte for byte
            top = int(p['offsetY'])
            assert np.array_equal(rgb[top : top + h // 2, :, :], image[::2, ::2]) and (rgb[:top] == fill[0]).all()
        samples = [(0, 0), (p['inputWidth'] // 2, p['inputHeight'] // 2), (p['inputWidth'] - 1, p['inputHeight'] - 1)]
        cases.append(
            {
                'image': name,
                'width': w,
                'height': h,
                'placement': p,
                'input_exact': exact,
                'input_rgb_samples': [{'u': u, 'v': v, 'rgb': rgb[v, u].tolist()} for u, v in samples],
                'detector': detections(det_c, det_s, x, p),
                'segmenter': {
                    'model': seg_c['model']['id'],
                    'class_map': {
                        'width': int(cmap.shape[1]),
                        'height': int(cmap.shape[0]),
                        'encoding': 'base64 uint8 row-major',
                        'data': base64.b64encode(cmap.tobytes()).decode(),
                    },
                    'class_counts': {
                        str(c): int((cmap == c).sum()) for c in range(logits.shape[0]) if (cmap == c).any()
                    },
                    'points': class_map_points(cmap, p, w, h),
                },
            }
        )
    doc = {
        'about': 'Native reference (onnxruntime CPU) for the letterbox end-to-end test, written by '
        "ml/scripts/letterbox_reference.py. Models: public/models/variants/*.onnx (index.json 'variants').",
        'letterbox': 'placement as src/analysis/geometry.ts: s = min(W_in/w, H_in/h), offsetX = (W_in - w*s)/2, '
        'offsetY = (H_in - h*s)/2; canvas filled with letterbox_fill, image drawn bilinearly into its '
        'placement, partly covered edge pixels blended with the fill, rounded to uint8.',
        'tolerance': 'input_exact=true (landscape: scale 0.5, integer offsets, constant 2x2 blocks) means any '
        'resampler gives the same input bytes: expect scores to ~1e-4 and boxes to ~0.01 px. '
        "input_exact=false (portrait: fractional placement): the browser's drawImage resampling and "
        'edge anti-aliasing differ from this emulation, so allow ~0.05 on scores and ~2 image px on '
        'boxes. In both, match detections by class and box (IoU >= 0.8), not by query index (a '
        'perturbed input can swap which query finds which object); detections marked borderline '
        f'(score within {NEAR} of the threshold) may be missing, and those in near_threshold (within '
        f'{NEAR} below it) may appear.',
        'boxes': 'box_input_xyxy: model-input pixels (cxcywh normalised x 160); box_image_xyxy: by hand, '
        '((x - offsetX)/s, (y - offsetY)/s). detections: one-to-one queries with score >= '
        "score_threshold (the contract's recommended threshold), best class per query, by score.",
        'points': 'image pixel (x, y) -> model-input pixel u = floor(x*s + offsetX), v = floor(y*s + offsetY) -> '
        'class_id = class_map[v][u]; chosen where the class map is uniform over a 5x5 window around (u, v).',
        'cases': cases,
    }
    path = OUT / 'reference.json'
    path.write_text(json.dumps(doc, indent=1))
    print(f'{path}: {path.stat().st_size} bytes')
    for c in cases:
        print(
            c['image'],
            c['placement'],
            'detections',
            len(c['detector']['detections']),
            'near',
            len(c['detector']['near_threshold']),
            'points',
            len(c['segmenter']['points']),
            'classes',
            c['segmenter']['class_counts'],
        )


if __name__ == '__main__':
    main()
