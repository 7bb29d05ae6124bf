"""Evaluate models over a data set, headless, on Ray Data: the same results file as the app's Evaluate mode.

    ml/.venv/bin/python -m attnlens_ml.evaluate --models teacher.onnx,student.onnx --images DIR_OR_COCO.json \\
        --out results.json [--address ray://head:10001] [--workers 2] [--batch 8] [--threshold 0.5]

Images: a folder (every PNG/JPEG/WebP/BMP below it) or a COCO JSON (its images, found next to it or under
--image-root; its boxes and masks are the ground truth). By default a local Ray is started in-process (no cluster
to set up); --address joins an existing cluster (docs/results.md says how to run one). Each Ray actor holds one
onnxruntime session per model and turns a batch of images into per-image rows; full tensors never leave it.
A worker that dies mid-run is restarted and its batch retried (Ray's actor restarts and task retries).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .app_frame import model_input
from .results import (
    FORMAT_VERSION,
    IOU,
    TRUTH,
    box_comparison,
    box_confusion,
    class_map,
    contract_hash,
    decode_detections,
    failures,
    image_id,
    mask_agreement_on_image,
    mask_comparison,
    model_threshold,
    one_to_one,
    pooled_box_confusion,
    summarise,
    validate_results,
)

IMAGE_SUFFIXES = {'.png', '.jpg', '.jpeg', '.webp', '.bmp'}
TOP_DETECTIONS = 100  # per image, for COCO AP (as the model cards)


def list_images(source: Path, image_root: Path | None = None) -> tuple[list[dict], dict | None]:
    """(images [{path, name}], the COCO document or None) of a folder or a COCO JSON."""
    if source.is_dir():
        paths = sorted(p for p in source.rglob('*') if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        return [{'path': str(p), 'name': str(p.relative_to(source))} for p in paths], None
    coco = json.loads(source.read_text())
    if not isinstance(coco, dict) or not isinstance(coco.get('images'), list):
        raise SystemExit(f'{source} is neither a folder nor a COCO JSON with an "images" list')
    root = image_root or source.parent
    images = []
    for im in coco['images']:
        path = root / im['file_name']
        if not path.exists():
            raise SystemExit(f'{source} names {im["file_name"]}, which is not in {root}: give --image-root')
        images.append({'path': str(path), 'name': im['file_name']})
    return images, coco


def truth_of(coco: dict | None) -> dict[str, dict]:
    """file_name → {'boxes': [detection dicts in image pixels], 'annotations': [...], 'width', 'height'}."""
    if coco is None:
        return {}
    by_id = {im['id']: im for im in coco['images']}
    out = {im['file_name']: {'boxes': [], 'annotations': [], **im} for im in coco['images']}
    for a in coco.get('annotations', []):
        im = by_id.get(a['image_id'])
        if im is None:
            continue
        x, y, w, h = a['bbox']
        t = out[im['file_name']]
        t['boxes'].append({'x0': x, 'y0': y, 'x1': x + w, 'y1': y + h, 'class_id': int(a['category_id'])})
        t['annotations'].append(a)
    return out


def truth_mask(truth: dict, height: int, width: int) -> np.ndarray | None:
    """Ground-truth class map (0 = background), annotations painted in file order; None without masks."""
    anns = [a for a in truth['annotations'] if a.get('segmentation')]
    if not anns:
        return None
    from pycocotools import mask as coco_mask

    out = np.zeros((height, width), np.uint8)
    for a in anns:
        seg = a['segmentation']
        rles = coco_mask.frPyObjects(seg, height, width) if isinstance(seg, list) else seg
        if isinstance(rles, dict) and isinstance(rles.get('counts'), list):
            rles = coco_mask.frPyObjects(rles, height, width)
        m = coco_mask.decode(rles)
        if m.ndim == 3:
            m = m.any(2)
        out[m.astype(bool)] = a['category_id']
    return out


def _model_facts(path: Path) -> dict:
    from .contract import load_model_contract

    contract, errors = load_model_contract(path)
    if contract is None or errors:
        raise SystemExit(f'{path}: ' + '; '.join(str(e) for e in errors))
    return {
        'onnx': path.read_bytes(),  # shipped to the actors: a cluster's nodes need not see this file system
        'contract': contract,
        'entry': {
            'id': contract['model']['id'],
            'name': contract['model']['name'],
            'role': contract['model']['role'],
            'task': contract['model']['task'],
            'contract_sha256': contract_hash(contract),
            'bytes': path.stat().st_size,
        },
    }


def _task(contract: dict) -> str:
    if any(o['role'] == 'segmentation_logits' for o in contract['outputs']):
        return 'segmentation'
    return 'detection' if one_to_one(contract) else 'none'


def _all_queries(contract: dict, outputs: dict, p: dict) -> list[list[float]]:
    """Top (query, label) pairs by score for COCO AP: [x, y, w, h, score, class] in image pixels."""
    logits_o, _ = one_to_one(contract)
    z = outputs[logits_o['name']][0].astype(np.float64)
    labels = logits_o.get('labels') or []
    if logits_o.get('activation') == 'softmax':
        e = np.exp(z - z.max(1, keepdims=True))
        prob = (e / e.sum(1, keepdims=True))[:, : len(labels)]
    else:
        prob = 1 / (1 + np.exp(-z[:, : len(labels)]))
    dets = decode_detections(contract, outputs, p, -np.inf)
    box_of = {d['query']: d for d in dets}
    flat = np.nan_to_num(prob, nan=-1).ravel()
    out = []
    for k in np.argsort(-flat, kind='stable')[:TOP_DETECTIONS]:
        q, c = divmod(int(k), len(labels))
        d = box_of.get(q)
        if d is None or flat[k] < 0:
            continue
        out.append([d['x0'], d['y0'], d['x1'] - d['x0'], d['y1'] - d['y0'], float(flat[k]), int(labels[c])])
    return out


class Evaluator:
    """A Ray Data actor: one onnxruntime session per model; a batch of image paths → per-image rows."""

    def __init__(self, models: list[dict], truth: dict[str, dict], threshold: float | None, reference: str):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        self.models = models
        self.sessions = {
            m['entry']['id']: ort.InferenceSession(m['onnx'], opts, providers=['CPUExecutionProvider']) for m in models
        }
        self.truth = truth
        self.threshold = threshold
        self.reference = reference
        # A model whose graph leaves the batch axis open runs a batch's images in one call.
        self.batched = {mid: not isinstance(s.get_inputs()[0].shape[0], int) for mid, s in self.sessions.items()}

    def __call__(self, batch: dict) -> dict:
        crash = os.environ.get('ATTNLENS_TEST_CRASH_ONCE')  # tests: kill this worker once, mid-run
        if crash and not Path(crash).exists():
            Path(crash).write_text('crashed')
            os._exit(1)
        images = [self.decode(data, name) for data, name in zip(batch['data'], batch['name'])]
        readable = [im for im in images if 'rgb' in im]
        runs = {m['entry']['id']: self.run_model(m, readable) for m in self.models}
        out = []
        for im in images:
            if 'skipped' in im:
                out.append(im)
                continue
            k = next(i for i, r in enumerate(readable) if r is im)
            out.append(self.image(im, {mid: runs[mid][k] for mid in runs}))
        return {'result': [json.dumps(r) for r in out]}

    @staticmethod
    def decode(data: bytes, name: str) -> dict:
        import io

        from PIL import Image

        try:
            with Image.open(io.BytesIO(data)) as im:
                rgba = np.asarray(im.convert('RGBA'))
        except Exception as e:  # a corrupt or foreign file is reported and skipped; the run goes on
            return {'skipped': {'name': name, 'reason': f'not an image PIL can decode ({type(e).__name__}: {e})'}}
        return {'name': name, 'rgba': rgba, 'rgb': np.ascontiguousarray(rgba[..., :3])}

    def run_model(self, m: dict, images: list[dict]) -> list[tuple[dict, dict, float]]:
        """(outputs of one image, placement, milliseconds) per image: in one call when the model takes a batch
        (images of one input shape; every image has, its input size being the contract's), else one by one."""
        mid, contract = m['entry']['id'], m['contract']
        roles = ('segmentation_logits', 'box_logits', 'boxes')
        names = [o['name'] for o in contract['outputs'] if o['role'] in roles]
        feeds = [model_input(im['rgb'], contract['input']) for im in images]
        session, input_name = self.sessions[mid], contract['input']['name']
        if self.batched[mid] and len(feeds) > 1:
            t0 = time.perf_counter()
            stacked = session.run(names, {input_name: np.concatenate([x for x, _ in feeds])})
            ms = (time.perf_counter() - t0) * 1000 / len(feeds)
            return [({n: o[i : i + 1] for n, o in zip(names, stacked)}, p, ms) for i, (_, p) in enumerate(feeds)]
        out = []
        for x, p in feeds:
            t0 = time.perf_counter()
            outs = dict(zip(names, session.run(names, {input_name: x})))
            out.append((outs, p, (time.perf_counter() - t0) * 1000))
        return out

    def image(self, im: dict, runs: dict[str, tuple[dict, dict, float]]) -> dict:
        name, rgba = im['name'], im['rgba']
        h, w = rgba.shape[:2]
        truth = self.truth.get(name)
        facts = {'id': image_id(rgba), 'name': name, 'width': w, 'height': h}
        if self.truth:
            facts['truth'] = truth is not None
        results, ap_dets = {}, {}
        for m in self.models:
            mid, contract = m['entry']['id'], m['contract']
            outs, p, ms = runs[mid]
            task = _task(contract)
            if task == 'segmentation':
                seg = next(o for o in contract['outputs'] if o['role'] == 'segmentation_logits')
                results[mid] = {'kind': task, 'map': class_map(outs[seg['name']][0]), 'p': p, 'ms': ms}
            elif task == 'detection':
                th = model_threshold(contract, self.threshold)
                results[mid] = {'kind': task, 'dets': decode_detections(contract, outs, p, th), 'ms': ms}
                ap_dets[mid] = _all_queries(contract, outs, p)
            else:
                results[mid] = {'kind': task, 'ms': ms}
        rows, confusion = [], []
        ref = results.get(self.reference)
        n_classes = {m['entry']['id']: len(m['contract']['classes']) for m in self.models}
        gt_map = truth_mask(truth, h, w) if truth else None
        identity = {'inputWidth': w, 'inputHeight': h, 'offsetX': 0, 'offsetY': 0, 'scaleX': 1, 'scaleY': 1}
        for m in self.models:
            mid = m['entry']['id']
            r = results[mid]
            row = {'image': facts['id'], 'model': mid, 'latency_ms': r['ms']}
            if mid != self.reference and ref and ref['kind'] == r['kind'] == 'segmentation':
                classes = max(n_classes[mid], n_classes[self.reference])  # as src/app/agreement.ts
                a = mask_agreement_on_image((ref['map'], ref['p']), (r['map'], r['p']), classes, w, h)
                row['vs_reference'] = mask_comparison(a, self.reference)
                confusion.append({'model': mid, 'against': self.reference, 'matrix': a['confusion'].tolist()})
            elif mid != self.reference and ref and ref['kind'] == r['kind'] == 'detection':
                row['vs_reference'] = box_comparison(ref['dets'], r['dets'], self.reference)
                pairs = box_confusion(ref['dets'], r['dets'])
                confusion.append({'model': mid, 'against': self.reference, 'pairs': list(pairs.items())})
            if mid != self.reference and ref and truth is not None and ref['kind'] == r['kind'] == 'detection':
                row['failures'] = failures(truth['boxes'], ref['dets'], r['dets'], w, h)
            elif mid != self.reference and ref and gt_map is not None and ref['kind'] == r['kind'] == 'segmentation':
                row['failures'] = failures((gt_map, identity), (ref['map'], ref['p']), (r['map'], r['p']), w, h)
            if truth is not None and r['kind'] == 'detection':
                row['vs_truth'] = box_comparison(truth['boxes'], r['dets'], TRUTH)
                pairs = box_confusion(truth['boxes'], r['dets'])
                confusion.append({'model': mid, 'against': TRUTH, 'pairs': list(pairs.items())})
            elif gt_map is not None and r['kind'] == 'segmentation':
                gt = (gt_map, identity)
                truth_classes = max(n_classes[mid], int(gt_map.max()) + 1)
                a = mask_agreement_on_image(gt, (r['map'], r['p']), truth_classes, w, h)
                row['vs_truth'] = mask_comparison(a, TRUTH)
                confusion.append({'model': mid, 'against': TRUTH, 'matrix': a['confusion'].tolist()})
            rows.append(row)
        return {'image': facts, 'rows': rows, 'confusion': confusion, 'ap_dets': ap_dets}


def coco_categories(coco: dict) -> list[dict]:
    """The COCO file's categories; a file without them: the category ids its annotations use (as the app)."""
    if coco.get('categories'):
        return coco['categories']
    ids = sorted({a['category_id'] for a in coco.get('annotations', [])})
    return [{'id': k, 'name': f'class {k}'} for k in ids]


def _coco_ap(coco: dict, images: list[dict], ap_dets: dict[str, dict[str, list]]) -> dict[str, dict]:
    """model → {'ap', 'ap50' over the set, 'images': {name: (ap, ap50) of that image alone}}: COCO box AP of its
    top detections against the COCO file's boxes, by pycocotools (None where pycocotools gives -1: no object)."""
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    ids = {im['file_name']: im['id'] for im in coco['images']}
    run_ids = [ids[im['name']] for im in images if im['name'] in ids]
    gt = COCO()
    gt.dataset = {'images': coco['images'], 'annotations': coco.get('annotations', []),
                  'categories': coco_categories(coco)}  # fmt: skip

    def stats(ev: COCOeval) -> tuple[float | None, float | None]:
        ev.evaluate()
        ev.accumulate()
        p = ev.eval['precision'][:, :, :, 0, -1]  # area 'all', 100 detections: summarize()'s stats[0] and [1]
        ap = p[p > -1].mean() if (p > -1).any() else None
        ap50 = p[0][p[0] > -1].mean() if (p[0] > -1).any() else None
        return (None if ap is None else float(ap)), (None if ap50 is None else float(ap50))

    out = {}
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        for model, per_image in ap_dets.items():
            dets = [
                {'image_id': ids[name], 'category_id': c, 'score': s, 'bbox': [x, y, w, h]}
                for name, found in per_image.items()
                for x, y, w, h, s, c in found
            ]
            dt = gt.loadRes(dets) if dets else COCO()
            ev = COCOeval(gt, dt, 'bbox')
            ev.params.imgIds = run_ids
            ap, ap50 = stats(ev)
            own = {}
            for name, k in ids.items():  # each image alone, as the app's per-image AP
                if k in run_ids:
                    ev.params.imgIds = [k]
                    own[name] = stats(ev)
            out[model] = {'ap': ap, 'ap50': ap50, 'images': own, 'n': len(run_ids)}
    return out


def evaluate(
    model_paths: list[Path],
    source: Path,
    *,
    image_root: Path | None = None,
    address: str | None = None,
    workers: int = 2,
    batch: int = 8,
    threshold: float | None = None,
    resamples: int = 1000,
    seed: int = 1,
    level: float = 0.95,
) -> dict:
    """The results document (validated) of the models over the images."""
    import ray

    models = [_model_facts(p) for p in model_paths]
    ids = [m['entry']['id'] for m in models]
    if len(set(ids)) != len(ids):
        raise SystemExit(f'two models share an id ({", ".join(ids)}): give each model once')
    reference = next((m['entry']['id'] for m in models if m['entry']['role'] == 'teacher'), ids[0])
    images, coco = list_images(source, image_root)
    if not images:
        raise SystemExit(f'{source} has no PNG, JPEG, WebP or BMP images')
    truth = truth_of(coco)
    started_here = not ray.is_initialized()
    if started_here:
        os.environ.setdefault('RAY_AUTH_MODE', 'disabled')  # a local, in-process cluster: no token to hand out
        # The workers import this package: shipped to them (a cluster's nodes need not have the repository).
        runtime_env = {'py_modules': [str(Path(__file__).resolve().parent)]}
        ray.init(address=address, num_cpus=None if address else workers, include_dashboard=False,
                 log_to_driver=False, configure_logging=False, runtime_env=runtime_env)  # fmt: skip
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        # Image bytes travel through Ray's object store, so the actors need no shared file system.
        items = [{'name': im['name'], 'data': Path(im['path']).read_bytes()} for im in images]
        ds = ray.data.from_items(items, override_num_blocks=max(1, min(len(images), workers * 4)))
        out = ds.map_batches(
            Evaluator,
            fn_constructor_kwargs={'models': models, 'truth': truth, 'threshold': threshold, 'reference': reference},
            batch_size=batch,
            # A fixed pool; Ray Data's actor pools restart a dead actor and retry its batch by default.
            compute=ray.data.ActorPoolStrategy(size=workers),
            num_cpus=1,
        ).take_all()
    finally:
        if started_here:
            ray.shutdown()
    position = {im['name']: k for k, im in enumerate(images)}
    done = sorted(
        (json.loads(o['result']) for o in out), key=lambda r: position[(r.get('image') or r['skipped'])['name']]
    )
    skipped = [r['skipped'] for r in done if 'skipped' in r]
    per_image, seen = [], {}
    for r in done:
        if 'skipped' in r:
            continue
        first = seen.setdefault(r['image']['id'], r['image']['name'])
        if first != r['image']['name']:  # same pixels, another name: one image (as the app keys them)
            skipped.append({'name': r['image']['name'], 'reason': f'the same pixels as {first}'})
            continue
        per_image.append(r)
    if not per_image:
        raise SystemExit(f'none of the {len(images)} images in {source} could be read: ' + skipped[0]['reason'])
    rows = [row for r in per_image for row in r['rows']]
    bootstrap = {'resamples': resamples, 'seed': seed, 'level': level}
    summary = summarise(rows, reference, bootstrap)
    if coco is not None:
        ap_dets: dict[str, dict[str, list]] = {}
        for r in per_image:
            for model, found in r['ap_dets'].items():
                ap_dets.setdefault(model, {})[r['image']['name']] = found
        names = {r['image']['id']: r['image']['name'] for r in per_image}
        aps = _coco_ap(coco, images, ap_dets)
        for model, ap in aps.items():
            for row in rows:
                if row['model'] == model and row.get('vs_truth') and names[row['image']] in ap['images']:
                    row['vs_truth']['ap'], row['vs_truth']['ap50'] = ap['images'][names[row['image']]]
            for metric in ('ap', 'ap50'):
                entry = {'model': model, 'against': TRUTH, 'metric': f'box_{metric}', 'n': ap['n'],
                         'mean': ap[metric], 'ci': None}  # fmt: skip
                if model != reference:
                    ref = aps.get(reference, {}).get(metric)
                    entry['share_of_reference'] = ap[metric] / ref if ref and ap[metric] is not None else None
                summary.append(entry)
    confusion, per_class = _pooled_confusion(per_image, models, coco)
    doc = {
        'format': 'attnlens-results',
        'version': FORMAT_VERSION,
        'created': datetime.now(timezone.utc).isoformat(timespec='seconds'),
        'producer': {'name': 'attnlens_ml.evaluate', 'runtime': f'onnxruntime {_ort_version()} (CPUExecutionProvider)'},
        'settings': {'iou': IOU, 'threshold': threshold, 'bootstrap': bootstrap},
        'models': [{**m['entry'], 'threshold': model_threshold(m['contract'], threshold)} for m in models],
        'reference': reference,
        'ground_truth': {'source': source.name, 'classes': [c['name'] for c in coco.get('categories', [])]}
        if coco
        else None,
        'images': [r['image'] for r in per_image],
        'skipped': skipped,
        'rows': rows,
        'summary': summary,
        'per_class': per_class,
        'confusion': confusion,
    }
    problems = validate_results(doc)
    if problems:
        raise RuntimeError('the results document breaks its schema: ' + '; '.join(problems[:5]))
    return doc


def _class_names(models: list[dict], coco: dict | None) -> dict[int, str]:
    names = {c['id']: c['name'] for m in models for c in m['contract']['classes']}
    if coco:
        names.update({c['id']: c['name'] for c in coco.get('categories', [])})
    return names


def _pooled_confusion(per_image: list[dict], models: list[dict], coco: dict | None) -> tuple[list[dict], list[dict]]:
    """(confusion, per_class): pixel matrices summed over images (growing to the larger), with per-class IoU (the
    model cards' pooled mIoU); box pairs summed over images, with per-class F1 (pooled_box_confusion)."""
    names = _class_names(models, coco)
    pixels: dict[tuple[str, str], np.ndarray] = {}
    boxes: dict[tuple[str, str], dict[tuple, int]] = {}
    for r in per_image:
        for c in r['confusion']:
            key = (c['model'], c['against'])
            if 'pairs' in c:
                pooled = boxes.setdefault(key, {})
                for (ref, model), n in c['pairs']:
                    pooled[(ref, model)] = pooled.get((ref, model), 0) + n
                continue
            m = np.array(c['matrix'], np.int64)
            if key in pixels and pixels[key].shape != m.shape:
                size = max(pixels[key].shape[0], m.shape[0])
                grown = np.zeros((size, size), np.int64)
                grown[: pixels[key].shape[0], : pixels[key].shape[0]] = pixels[key]
                pixels[key] = grown
                m = np.pad(m, (0, size - m.shape[0]))
            pixels[key] = pixels.get(key, 0) + m
    confusion, per_class = [], []
    for (model, against), m in pixels.items():
        classes = [names.get(k, f'class {k}') for k in range(len(m))]
        confusion.append({'model': model, 'against': against, 'unit': 'pixels', 'classes': classes,
                          'class_ids': list(range(len(m))), 'matrix': m.tolist()})  # fmt: skip
        inter = np.diag(m).astype(np.float64)
        union = m.sum(0) + m.sum(1) - inter
        for k, name in enumerate(classes):
            per_class.append({'model': model, 'against': against, 'metric': 'iou', 'class_id': k, 'class': name,
                              'value': float(inter[k] / union[k]) if union[k] > 0 else None})  # fmt: skip
    for (model, against), counts in boxes.items():
        table, classes = pooled_box_confusion(counts, lambda k: names.get(k, f'class {k}'))
        confusion.append({'model': model, 'against': against, **table})
        per_class.extend({'model': model, 'against': against, **c} for c in classes)
    return confusion, per_class


def _ort_version() -> str:
    import onnxruntime

    return onnxruntime.__version__


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--models', required=True, help='comma-separated .onnx files (the first teacher is the reference)')
    ap.add_argument('--images', required=True, type=Path, help='a folder of images, or a COCO JSON')
    ap.add_argument('--image-root', type=Path, help="where a COCO file's images are (default: next to it)")
    ap.add_argument('--out', required=True, type=Path)
    ap.add_argument('--address', help='join this Ray cluster (default: start a local one)')
    ap.add_argument('--workers', type=int, default=2, help='Ray actors, each with one session per model')
    ap.add_argument('--batch', type=int, default=8, help='images per batch')
    ap.add_argument('--threshold', type=float, help="score threshold for every detector (default: each one's own)")
    ap.add_argument('--resamples', type=int, default=1000)
    ap.add_argument('--seed', type=int, default=1)
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    doc = evaluate(
        [Path(p) for p in a.models.split(',') if p],
        a.images,
        image_root=a.image_root,
        address=a.address,
        workers=a.workers,
        batch=a.batch,
        threshold=a.threshold,
        resamples=a.resamples,
        seed=a.seed,
    )
    a.out.write_text(json.dumps(doc, indent=1))
    seconds = time.perf_counter() - t0
    print(f'{a.out}: {len(doc["images"])} images × {len(doc["models"])} models in {seconds:.1f} s')
    for k in doc['skipped']:
        print(f'  skipped {k["name"]}: {k["reason"]}')
    for s in doc['summary']:
        ci = f' [{s["ci"][0]:.3f}, {s["ci"][1]:.3f}]' if s['ci'] else ''
        mean = 'n/a' if s['mean'] is None else f'{s["mean"]:.3f}'
        print(f'  {s["model"]} vs {s["against"]}: {s["metric"]} {mean}{ci} (n={s["n"]})')


if __name__ == '__main__':
    main()
