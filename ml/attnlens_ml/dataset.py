"""Rendered splits cached as .npz under ml/data (rebuilt from seeds whenever missing), plus COCO export."""

from __future__ import annotations

import json
from multiprocessing import Pool
from pathlib import Path

import numpy as np

from .data import CLASS_NAMES, SPLITS, Scene, render_split_scene

DATA_DIR = Path(__file__).resolve().parents[1] / 'data'
IMAGE_SIZE = 160


def _render(args):
    split, i = args
    return render_split_scene(split, i, IMAGE_SIZE)


def load_split(split: str, count: int | None = None, workers: int = 2) -> dict[str, np.ndarray]:
    """images uint8 [N,H,W,3], semantic uint8 [N,H,W], present float32 [N, NUM_LABELS]; cached per split."""
    n = SPLITS[split][1] if count is None else count
    path = DATA_DIR / f'{split}-{IMAGE_SIZE}.npz'
    if path.exists():
        z = np.load(path)
        if len(z['images']) >= n:
            return {k: z[k][:n] for k in ('images', 'semantic', 'present')}
    scenes = render_scenes(split, SPLITS[split][1], workers)
    arrays = {
        'images': np.stack([s.image for s in scenes]),
        'semantic': np.stack([s.semantic for s in scenes]),
        'present': np.stack([s.labels_present() for s in scenes]),
    }
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return {k: v[:n] for k, v in arrays.items()}


def render_scenes(split: str, n: int, workers: int = 2) -> list[Scene]:
    jobs = [(split, i) for i in range(n)]
    if workers <= 1:
        return [_render(j) for j in jobs]
    with Pool(workers) as pool:
        return pool.map(_render, jobs, chunksize=32)


def mask_to_rle(mask: np.ndarray) -> dict:
    """Uncompressed COCO RLE (column-major run lengths, starting with a run of zeros)."""
    flat = np.asarray(mask, dtype=np.uint8).flatten(order='F')
    change = np.flatnonzero(np.diff(np.concatenate([[0], flat, [0]])))
    runs = np.diff(np.concatenate([[0], change, [flat.size]])).tolist()
    if runs and runs[-1] == 0:
        runs = runs[:-1]
    return {'size': [int(mask.shape[0]), int(mask.shape[1])], 'counts': runs}


def coco_document(scenes: list[Scene], file_names: list[str], first_id: int = 1) -> dict:
    """COCO instances JSON: boxes [x, y, w, h], uncompressed RLE masks, categories: the foreground classes (ids 1..)."""
    images, annotations = [], []
    ann_id = 1
    for img_id, (scene, name) in enumerate(zip(scenes, file_names), start=first_id):
        h, w = scene.semantic.shape
        images.append({'id': img_id, 'file_name': name, 'width': w, 'height': h})
        for inst in scene.instances:
            annotations.append(
                {
                    'id': ann_id,
                    'image_id': img_id,
                    'category_id': inst.class_id,
                    'bbox': list(inst.bbox_xywh),
                    'area': int(inst.mask.sum()),
                    'iscrowd': 0,
                    'segmentation': mask_to_rle(inst.mask),
                    **({'attributes': {'defect': inst.kind}} if inst.kind else {}),
                }
            )
            ann_id += 1
    categories = [
        {'id': i, 'name': n, 'supercategory': 'defect' if n == 'defect' else 'part'}
        for i, n in enumerate(CLASS_NAMES)
        if i > 0
    ]
    return {
        'info': {'description': 'AttnLens synthetic factory scenes', 'version': '1'},
        'images': images,
        'annotations': annotations,
        'categories': categories,
    }


def write_coco(path: Path, doc: dict) -> None:
    path.write_text(json.dumps(doc, separators=(',', ':')))


MAX_OBJECTS = 40


def _render_boxes(args):
    split, i = args
    scene = render_split_scene(split, i, IMAGE_SIZE)
    classes = np.full(MAX_OBJECTS, -1, np.int64)
    boxes = np.zeros((MAX_OBJECTS, 4), np.float32)
    for j, inst in enumerate(scene.instances[:MAX_OBJECTS]):
        x, y, w, h = inst.bbox_xywh
        classes[j] = inst.class_id
        boxes[j] = [(x + w / 2) / IMAGE_SIZE, (y + h / 2) / IMAGE_SIZE, w / IMAGE_SIZE, h / IMAGE_SIZE]
    return classes, boxes


def load_boxes(split: str, count: int | None = None, workers: int = 2) -> dict[str, np.ndarray]:
    """Per-image object boxes: classes int [N, MAX_OBJECTS] (foreground class id ≥ 1, −1 = padding) and
    boxes float [N, MAX_OBJECTS, 4] as normalised (cx, cy, w, h); cached like load_split."""
    n = SPLITS[split][1] if count is None else count
    path = DATA_DIR / f'{split}-{IMAGE_SIZE}-boxes.npz'
    if not path.exists():
        jobs = [(split, i) for i in range(SPLITS[split][1])]
        with Pool(workers) as pool:
            rows = pool.map(_render_boxes, jobs, chunksize=32)
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        np.savez(path, classes=np.stack([r[0] for r in rows]), boxes=np.stack([r[1] for r in rows]))
    z = np.load(path)
    return {'classes': z['classes'][:n], 'boxes': z['boxes'][:n]}
