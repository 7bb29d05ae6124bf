"""Detector comparisons over training seeds: hybrid matching and KS-DETR, each against the one-to-one student.

    ml/.venv/bin/python -m attnlens_ml.experiments detr-seeds [--seeds 1 2] [--arms hybrid o2o ks]
    ml/.venv/bin/python -m attnlens_ml.experiments detr-seeds --summary [--into-cards]

Seed 0 of every arm is the zoo's own run (pipeline.DETR_RUNS trains with seed 0): its predictions come from the
shipped ONNX file. Seeds 1, 2, … train the same configuration, steps, batch and learning rate with another seed
(model initialisation, batch order and augmentation all keyed on it) in ml/runs/detr-seeds-<arm>-s<seed>/, and
are evaluated by the PyTorch model (equal to the exported file to float rounding). Each run's per-image test
detections stay in its run folder (test_predictions.npz, ~1 MB: not committed); its test AP is written to
ml/experiments/detr-seeds/<arm>-s<seed>.json. A run whose JSON exists is skipped.

summary: per arm, test AP over seeds (mean, sd, range); per contrast, A − B of the AP averaged over the seeds
both arms have, with a paired bootstrap interval over test images (intervals.BoxApByImage on each seed's
pycocotools evaluation, the same resample for every seed and both arms).
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from .common import to_input
from .dataset import IMAGE_SIZE, load_boxes, load_split
from .experiments import _write_json
from .intervals import BoxApByImage, paired_bootstrap
from .metrics import coco_box_eval, detections
from .models.detr import STUDENT_DETR, DetrConfig, SmallDETR
from .pipeline import DETR_LR, DETR_STEPS
from .train_detr import load_detr, train_detr
from .training import run_dir

DETR_SEEDS = 'detr-seeds'
ARMS: dict[str, DetrConfig] = {
    'hybrid': STUDENT_DETR,
    'o2o': replace(STUDENT_DETR, num_o2m=0),
    'ks': replace(STUDENT_DETR, num_o2m=0, ks=True),
}
ZOO_ID = {arm: f'detr-student-{arm}' for arm in ARMS}
CONTRASTS = [('hybrid', 'o2o', 'hybrid matching (one-to-many block)'), ('ks', 'o2o', 'KS-DETR knowledge sharing')]
BOOTSTRAP = {'resamples': 1000, 'seed': 1, 'level': 0.95}

Predictions = list[tuple[np.ndarray, np.ndarray, np.ndarray]]


def run_name(arm: str, seed: int) -> str:
    return f'detr-seeds-{arm}-s{seed}'


@torch.no_grad()
def torch_predictions(model: SmallDETR, images: np.ndarray, batch: int = 25) -> Predictions:
    """metrics.detections of the one-to-one block, image by image (as train_detr.evaluate_detr)."""
    model.eval()
    dev = next(model.parameters()).device
    preds = []
    for i in range(0, len(images), batch):
        logits, boxes = model(to_input(images[i : i + batch], dev).contiguous())['streams'][0][-1]
        q = model.cfg.num_o2o
        preds += [detections(logits[b, :q].cpu().numpy(), boxes[b, :q].cpu().numpy()) for b in range(len(logits))]
    return preds


def save_predictions(path: Path, preds: Predictions) -> None:
    np.savez_compressed(
        path,
        scores=np.stack([p[0] for p in preds]).astype(np.float32),
        classes=np.stack([p[1] for p in preds]).astype(np.int16),
        boxes=np.stack([p[2] for p in preds]).astype(np.float32),
    )


def load_predictions(path: Path) -> Predictions:
    z = np.load(path)
    return list(zip(z['scores'], z['classes'], z['boxes']))


def seed0_predictions(arm: str, images: np.ndarray) -> Predictions:
    """The zoo's run of the arm (seed 0), from its shipped ONNX file."""
    from .zoo import MODELS, detr_predictions

    return detr_predictions(MODELS / f'{ZOO_ID[arm]}.onnx', images)


def ap_by_image(preds: Predictions) -> BoxApByImage:
    labels = load_boxes('test', len(preds))
    return BoxApByImage(coco_box_eval(preds, labels['classes'], labels['boxes'], IMAGE_SIZE))


def run(seeds: list[int], arms: list[str], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    todo = [(s, a) for s in seeds for a in arms if s != 0 and not (out / f'{a}-s{s}.json').exists()]
    print(f'[detr-seeds] runs to do: {todo}', flush=True)
    test = load_split('test')
    for seed, arm in todo:
        name, t = run_name(arm, seed), time.time()
        info = train_detr(name, ARMS[arm], DETR_STEPS, lr=DETR_LR, seed=seed)
        preds = torch_predictions(load_detr(name, ARMS[arm]), test['images'])
        save_predictions(run_dir(name) / 'test_predictions.npz', preds)
        ap = ap_by_image(preds)
        doc = {
            'experiment': DETR_SEEDS,
            'arm': arm,
            'seed': seed,
            'run': name,
            'settings': {'config': info['config'], 'steps': info['steps'], 'batch': info['batch'], 'lr': info['lr']},
            'val': info['val'],
            'test_ap': round(ap.ap(np.arange(len(preds))), 6),
            'images': len(preds),
            'wall_seconds': round(time.time() - t, 1),
            'threads': torch.get_num_threads(),
        }
        _write_json(out / f'{arm}-s{seed}.json', doc)
        print(f'[detr-seeds] {arm} s{seed}: test AP {doc["test_ap"]:.4f} ({doc["wall_seconds"]:.0f}s)', flush=True)


def _spread(values: list[float]) -> dict:
    return {
        'mean': round(statistics.mean(values), 6),
        'sd': round(statistics.stdev(values), 6) if len(values) > 1 else None,
        'min': min(values),
        'max': max(values),
    }


def summary(out: Path) -> dict:
    """Per arm: test AP per seed (seed 0 = the shipped file) and spread; per contrast: the paired bootstrap."""
    test = load_split('test')
    n = len(test['images'])
    evals: dict[str, dict[int, BoxApByImage]] = {}
    for arm in ARMS:
        evals[arm] = {0: ap_by_image(seed0_predictions(arm, test['images']))}
        for p in sorted(out.glob(f'{arm}-s*.json')):
            seed = json.loads(p.read_text())['seed']
            npz = run_dir(run_name(arm, seed)) / 'test_predictions.npz'
            if not npz.exists():
                raise SystemExit(f'{npz} is missing: run `experiments detr-seeds --seeds {seed} --arms {arm}` again')
            evals[arm][seed] = ap_by_image(load_predictions(npz))
    everything = np.arange(n)
    doc: dict = {'arms': {}, 'contrasts': [], 'bootstrap': BOOTSTRAP, 'images': n, 'steps': DETR_STEPS}
    for arm, by_seed in evals.items():
        aps = {s: round(e.ap(everything), 6) for s, e in sorted(by_seed.items())}
        doc['arms'][arm] = {
            'zoo_id': ZOO_ID[arm],
            'seeds': list(aps),
            'test_ap': list(aps.values()),
            **_spread(list(aps.values())),
        }
        print(f'{arm:7s} test AP {aps} → {doc["arms"][arm]}')
    for a, b, what in CONTRASTS:
        seeds = sorted(set(evals[a]) & set(evals[b]))

        def mean_ap(arm: str, seeds: list[int] = seeds):
            return lambda idx: float(np.mean([evals[arm][s].ap(idx) for s in seeds]))

        r = paired_bootstrap(mean_ap(a), mean_ap(b), n, BOOTSTRAP['resamples'], BOOTSTRAP['seed'], BOOTSTRAP['level'])
        per_seed = [round(evals[a][s].ap(everything) - evals[b][s].ap(everything), 6) for s in seeds]
        doc['contrasts'].append(
            {'a': ZOO_ID[a], 'b': ZOO_ID[b], 'what': what, 'seeds': seeds, 'per_seed_diff': per_seed, **r}
        )
        lo, hi = r['ci']
        print(f'{a} − {b}: AP {r["diff"]:+.4f} [{lo:+.4f}, {hi:+.4f}] over seeds {seeds}; per seed {per_seed}')
    return doc


def into_cards(doc: dict) -> None:
    """The summary as index.json's experiments.detector_seeds, and the cards written again from it."""
    from .cards import write_cards
    from .zoo import MODELS

    path = MODELS / 'index.json'
    index = json.loads(path.read_text())
    index['experiments']['detector_seeds'] = {'experiment': DETR_SEEDS, 'seeds_planned': [0, 1, 2], **doc}
    path.write_text(json.dumps(index, indent=1))
    write_cards(index)
