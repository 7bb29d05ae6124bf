"""Controlled experiments beyond the zoo's runs, resumable, one JSON result per run.

    ml/.venv/bin/python -m attnlens_ml.experiments attnfd-few-masks [--seeds 0 1 2] [--arms ...] [--out DIR]
    ml/.venv/bin/python -m attnlens_ml.experiments attnfd-few-masks --summary [--out DIR]

attnfd-few-masks: is AttnFD's gain with few masks its own, or that of any use of the unlabelled images? Four
arms at 10 % labelled (train_seg.ARMS, combining rule in train_seg.arm_batches), the zoo's student, the same
steps (1,600), batch (16), learning rate and teacher (`seg-teacher`, as the pipeline trains it) for all:
  supervised — cross-entropy on labelled batches only;
  fitnets    — + FitNets feature MSE before CBAM on ordinary batches;
  pseudo     — + cross-entropy against the teacher's argmax on the unlabelled images of ordinary batches;
  attnfd     — + AttnFD (beta 0.3, constant, as seg-student-attnfd-b0.3-l10).
attnfd-full-masks: the same arms (but pseudo, which has nothing to label) with every image's mask, so the zoo's
full-mask comparison (seg-student-attnfd against seg-student-plain, one seed each) is repeated over seeds with
its controls; runs in ml/runs/fm100-<arm>-s<seed>/, results in ml/experiments/attnfd-full-masks/.
Each run trains in ml/runs/fm10-<arm>-s<seed>/ (checkpointed), is evaluated on the 400 test scenes and written
to <out>/<arm>-s<seed>.json; a run whose JSON exists is skipped. Order: every arm of seed 0, then seed 1, …,
so partial results stay balanced across arms.
detr-teacher (one run, ml/attnlens_ml/detr_teacher.py): the detection teacher at 4x the students' steps;
`--ship` exports it as the zoo's detr-teacher.

Test numbers are those of the cards: metrics.segmentation_metrics on the confusion matrix pooled over the
test split (here from the PyTorch model; the cards run the exported ONNX file, equal to float rounding).
Per image, the JSON keeps mIoU (classes in truth or prediction of that image) and defect IoU (None where
neither has a defect pixel) and its confusion matrix, for paired comparisons. `summary` gives each contrast
as A − B of the pooled figure (the cards' statistic; each arm averaged over the seeds both have) with a paired
bootstrap interval over test images (intervals.paired_bootstrap, as the cards' comparisons).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from .common import to_input
from .data import CLASS_NAMES, NUM_CLASSES
from .dataset import load_split
from .intervals import paired_bootstrap
from .metrics import confusion_matrix, iou_from_confusion, mean_iou, segmentation_metrics
from .models.cbam_seg import STUDENT, TEACHER, CBAMSegmenter
from .pipeline import SEG_STEPS, TEACHER_RUN
from .train_seg import ARMS, load_segmenter, train_segmenter
from .training import device, finished

EXPERIMENTS = Path(__file__).resolve().parents[1] / 'experiments'
FEW_MASKS = 'attnfd-few-masks'
FULL_MASKS = 'attnfd-full-masks'
LABELLED_FRACTION = 0.1
# The same arms at every mask share, each experiment under its own names: (share of images with masks, run
# prefix, index.json key, arms). Pseudo-labels have nothing to label when every image has its mask.
MASK_EXPERIMENTS = {
    FEW_MASKS: (LABELLED_FRACTION, 'fm10', 'few_masks_controls', ARMS),
    FULL_MASKS: (1.0, 'fm100', 'full_masks_controls', tuple(a for a in ARMS if a != 'pseudo')),
}
STUDENT_LR = 3e-3  # the pipeline's student learning rate
ATTNFD_BETA = 0.3
BATCH = 16
BOOTSTRAP = {'resamples': 1000, 'seed': 1, 'level': 0.95}
DEFECT = CLASS_NAMES.index('defect')
# (minuend, subtrahend): every arm against supervised-only, then AttnFD against the other label-free terms
CONTRASTS = [(a, 'supervised') for a in ARMS if a != 'supervised'] + [('attnfd', 'fitnets'), ('attnfd', 'pseudo')]


def run_name(arm: str, seed: int, experiment: str = FEW_MASKS) -> str:
    return f'{MASK_EXPERIMENTS[experiment][1]}-{arm}-s{seed}'


@torch.no_grad()
def test_metrics(model: CBAMSegmenter, images: np.ndarray, semantic: np.ndarray, batch: int = 50) -> dict:
    """Pooled test metrics (as the cards) and per-image mIoU / defect IoU."""
    model.eval()
    dev = next(model.parameters()).device
    pooled = np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64)
    per_miou, per_defect, per_conf = [], [], []
    for i in range(0, len(images), batch):
        pred = model(to_input(images[i : i + batch], dev)).argmax(1).cpu().numpy()
        for truth, p in zip(semantic[i : i + batch], pred):
            conf = confusion_matrix(truth, p)
            pooled += conf
            per_conf.append(conf.ravel().tolist())
            iou = iou_from_confusion(conf)
            per_miou.append(round(float(np.nanmean(iou)), 6))
            per_defect.append(None if np.isnan(iou[DEFECT]) else round(float(iou[DEFECT]), 6))
    return {
        **segmentation_metrics(pooled),
        'images': int(len(images)),
        # confusion [truth, pred] per image, row-major C×C: the pooled mIoU of any resample (intervals.miou_of)
        'per_image': {'miou': per_miou, 'defect_iou': per_defect, 'confusion': per_conf},
    }


def _write_json(path: Path, doc: dict) -> None:
    tmp = path.with_suffix('.tmp')
    tmp.write_text(json.dumps(doc, indent=1))
    os.replace(tmp, path)


def run_mask_arms(seeds: list[int], arms: list[str], out: Path, experiment: str = FEW_MASKS) -> None:
    fraction = MASK_EXPERIMENTS[experiment][0]
    out.mkdir(parents=True, exist_ok=True)
    todo = [(s, a) for s in seeds for a in arms if not (out / f'{a}-s{s}.json').exists()]
    if not todo:
        print('[experiments] every run has its result')
        return
    t0 = time.time()
    train_segmenter(**TEACHER_RUN)  # skipped when finished (done.json), else trained as the pipeline does
    teacher_info = finished('seg-teacher')
    dev = device()
    teacher = load_segmenter('seg-teacher', TEACHER).to(dev)
    print(f'[experiments] teacher ready ({time.time() - t0:.0f}s); runs to do: {todo}', flush=True)
    test = load_split('test')
    for seed, arm in todo:
        name = run_name(arm, seed, experiment)
        t = time.time()
        info = train_segmenter(
            name,
            STUDENT,
            SEG_STEPS,
            lr=STUDENT_LR,
            batch=BATCH,
            seed=seed,
            teacher=None if arm == 'supervised' else teacher,
            beta=ATTNFD_BETA if arm == 'attnfd' else 0.0,
            labelled_fraction=fraction,
            arm=arm,
        )
        train_seconds = time.time() - t
        model = load_segmenter(name, STUDENT).to(dev)
        doc = {
            'experiment': experiment,
            'arm': arm,
            'seed': seed,
            'run': name,
            'settings': {
                'student': 'STUDENT (seg-student-* config)',
                'params': sum(p.numel() for p in model.parameters()),
                'steps': info['steps'],
                'batch': info['batch'],
                'lr': info['lr'],
                'labelled_fraction': info['labelled_fraction'],
                'beta': info['beta'],
                'teacher': 'seg-teacher',
                'teacher_val_miou': teacher_info['val']['miou'],
                'combining_rule': 'train_seg.arm_batches',
            },
            'counted': {k: info[k] for k in ('steps', 'labelled_presentations', 'label_free_term_images')},
            'val': info['val'],
            'test': test_metrics(model, test['images'], test['semantic']),
            'wall_seconds': {
                'train_this_process': info.get('wall_seconds_this_process'),
                'train_call': round(train_seconds, 1),
                'with_test': round(time.time() - t, 1),
            },
            'threads': torch.get_num_threads(),
        }
        _write_json(out / f'{arm}-s{seed}.json', doc)
        print(
            f'[experiments] {arm} s{seed}: test miou {doc["test"]["miou"]:.4f} defect '
            f'{doc["test"]["iou_per_class"]["defect"]} ({doc["wall_seconds"]["with_test"]:.0f}s)',
            flush=True,
        )


# -------------------------------------------------------------------------------------------------- summary


def load_results(out: Path) -> dict[str, dict[int, dict]]:
    """{arm: {seed: result document}} of the result files in `out`."""
    res: dict[str, dict[int, dict]] = {}
    for p in sorted(out.glob('*-s*.json')):
        doc = json.loads(p.read_text())
        res.setdefault(doc['arm'], {})[doc['seed']] = doc
    return res


def pooled_figure(confusions: dict[int, np.ndarray], metric: str) -> Callable[[np.ndarray], float]:
    """An arm's figure on the test images `idx`: mIoU (or defect IoU) of its pooled confusion over those images,
    averaged over its seeds — the cards' statistic (metrics.segmentation_metrics), on any resample."""
    figure = mean_iou if metric == 'miou' else (lambda c: float(iou_from_confusion(c)[DEFECT]))
    return lambda idx: float(np.mean([figure(c[idx].sum(0)) for c in confusions.values()]))


def paired_difference(
    a: dict[int, np.ndarray], b: dict[int, np.ndarray], metric: str = 'miou', bootstrap: dict = BOOTSTRAP
) -> dict | None:
    """Two arms' per-image confusions ({seed: [N, C, C]}) → A − B of `pooled_figure` over the seeds both arms
    have, with its paired bootstrap interval over test images (intervals.paired_bootstrap: both arms scored on
    the same resample)."""
    seeds = sorted(set(a) & set(b))
    if not seeds:
        return None
    n = len(a[seeds[0]])
    r = paired_bootstrap(
        pooled_figure({s: a[s] for s in seeds}, metric),
        pooled_figure({s: b[s] for s in seeds}, metric),
        n,
        bootstrap['resamples'],
        bootstrap['seed'],
        bootstrap['level'],
    )
    return {'seeds': seeds, **r}


def confusions_of(runs: dict[int, dict]) -> dict[int, np.ndarray]:
    """{seed: per-image confusion matrices [N, C, C]} of an arm's result documents."""
    return {
        s: np.asarray(r['test']['per_image']['confusion'], np.int64).reshape(-1, NUM_CLASSES, NUM_CLASSES)
        for s, r in runs.items()
    }


def _spread(values: list[float]) -> str:
    if len(values) == 1:
        return f'{values[0]:.4f} (1 seed)'
    return f'{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f} (sd, {len(values)} seeds; {min(values):.4f}–{max(values):.4f})'


def summary(out: Path) -> dict:
    """Per arm: test mIoU / defect IoU over seeds; paired bootstrap of each contrast over test images."""
    res = load_results(out)
    doc: dict = {'arms': {}, 'contrasts': {}, 'bootstrap': BOOTSTRAP}
    for arm in ARMS:
        if arm not in res:
            continue
        runs = res[arm]
        doc['arms'][arm] = {
            'seeds': sorted(runs),
            'test_miou': [runs[s]['test']['miou'] for s in sorted(runs)],
            'test_defect_iou': [runs[s]['test']['iou_per_class']['defect'] for s in sorted(runs)],
            'val_miou': [runs[s]['val']['miou'] for s in sorted(runs)],
            'labelled_presentations': [runs[s]['counted']['labelled_presentations'] for s in sorted(runs)],
        }
        a = doc['arms'][arm]
        print(f'{arm:10s} test mIoU {_spread(a["test_miou"])}')
        print(f'{"":10s} defect   {_spread(a["test_defect_iou"])}')
    for x, y in CONTRASTS:
        if x not in res or y not in res:
            continue
        doc['contrasts'][f'{x}-{y}'] = c = {}
        for metric in ('miou', 'defect_iou'):
            d = paired_difference(confusions_of(res[x]), confusions_of(res[y]), metric)
            c[metric] = d
            if d:
                lo, hi = d['ci']
                print(
                    f'{x} − {y}: {metric} {d["diff"]:+.4f} [{lo:+.4f}, {hi:+.4f}] '
                    f'(seeds {d["seeds"]}, {d["images"]} images)'
                )
    return doc


def into_cards(doc: dict, experiment: str = FEW_MASKS) -> None:
    """The summary as index.json's experiments.<few|full>_masks_controls, and the cards written again from it."""
    from .cards import write_cards
    from .zoo import MODELS

    path = MODELS / 'index.json'
    index = json.loads(path.read_text())
    fraction, _, key, arms = MASK_EXPERIMENTS[experiment]
    before = index['experiments'].get(key, {})
    teacher_test = before.get('teacher_test_miou') or index['experiments'].get('few_masks_controls', {}).get(
        'teacher_test_miou'
    )
    if teacher_test is None:  # the retrained teacher's test mIoU, once (it does not change)
        test = load_split('test')
        teacher_test = test_metrics(load_segmenter('seg-teacher', TEACHER), test['images'], test['semantic'])['miou']
    index['experiments'][key] = {
        'teacher_test_miou': teacher_test,
        **({'shipped': before['shipped']} if 'shipped' in before else {}),
        'experiment': experiment,
        'arms_planned': list(arms),
        'seeds_planned': [0, 1, 2],
        'steps': SEG_STEPS,
        'batch': BATCH,
        'labelled_fraction': fraction,
        **doc,
    }
    path.write_text(json.dumps(index, indent=1))
    write_cards(index)


# The pair the zoo ships for "AttnFD with 10 % of masks": the fair controls' supervised and AttnFD arms of one seed
# (the same labelled batches every step; they differ only in the AttnFD term), under the zoo's two ids.
SHIPPED_PAIR = {'supervised': 'seg-student-plain-few-masks', 'attnfd': 'seg-student-attnfd-few-masks'}
SHIPPED_SEED = 0


def ship_pair(seed: int = SHIPPED_SEED) -> None:
    """Export the supervised and AttnFD arms of `seed` over the zoo's few-masks pair: files (batch axis open),
    their index.json entries (test and check-slice metrics from the ONNX files, latency, training record), the
    attnfd_students rows they replace, the comparison interval, and the cards."""
    from .batch_axis import open_file
    from .cards import write_cards
    from .train_seg import load_connectors
    from .zoo import GALLERY, MODELS, comparison_intervals, export_segmenter, file_facts, node_latency, seg_metrics_onnx

    index_path = MODELS / 'index.json'
    index = json.loads(index_path.read_text())
    test = load_split('test')
    slice_images, slice_sem = test['images'][:GALLERY], test['semantic'][:GALLERY]
    entries = {m['id']: m for m in index['models']}
    teacher_info = finished('seg-teacher')
    for arm, model_id in SHIPPED_PAIR.items():
        name = run_name(arm, seed)
        info = finished(name)
        if not info:
            raise SystemExit(f'{name} has not finished: run `experiments attnfd-few-masks --seeds {seed}` first')
        model = load_segmenter(name, STUDENT)
        params = sum(q.numel() for q in model.parameters())
        conn = load_connectors(name, STUDENT, TEACHER) if arm == 'attnfd' else None
        how = (
            f'trained with AttnFD (beta={ATTNFD_BETA}) from a seg-teacher retrained for the experiment'
            if arm == 'attnfd'
            else 'trained alone (cross-entropy only)'
        )
        desc = (
            f'CBAM student ({params:,} params) {how}; masks for {LABELLED_FRACTION:.0%} of the images, a batch of '
            f'{BATCH} labelled images every step (the few-masks fair controls, seed {seed}).'
        )
        label = f'CBAM student {params // 1000} k' + (' + AttnFD' if arm == 'attnfd' else ' (plain)')
        path = export_segmenter(model, model_id, label, 'student', desc, conn, 'seg-teacher')
        open_file(path)
        entry = entries[model_id]
        entry.update(file_facts(path, model))
        entry['metrics'] = {
            'test': seg_metrics_onnx(path, test['images'], test['semantic']),
            'check_slice': seg_metrics_onnx(path, slice_images, slice_sem),
        }
        entry['latency_ms'] = {'onnxruntime_node': node_latency([path]).get(path.name)}
        entry['training'] = {
            **info,
            'experiment': FEW_MASKS,
            'arm': arm,
            'teacher': {'run': 'seg-teacher (retrained for the experiment)', 'val_miou': teacher_info['val']['miou']},
        }
        print(f'[ship] {name} → {model_id}: test mIoU {entry["metrics"]["test"]["miou"]:.4f}', flush=True)
    for row in index['experiments']['attnfd_students']:
        if row['shipped_as'] in SHIPPED_PAIR.values():
            row['shipped_as'] = None
            row['note'] = 'the zoo ships the few-masks fair controls instead (see below)'
    paths = {m['id']: MODELS.parent / m['file'] for m in index['models']}
    few = [c for c in index['experiments']['intervals'] if c['a'] == SHIPPED_PAIR['attnfd']]
    fresh = comparison_intervals({k: paths[k] for k in SHIPPED_PAIR.values()}, test)
    index['experiments']['intervals'] = [fresh[0] if c in few else c for c in index['experiments']['intervals']]
    index['experiments']['few_masks_controls']['shipped'] = {'seed': seed, **{a: m for a, m in SHIPPED_PAIR.items()}}
    index_path.write_text(json.dumps(index, indent=1))
    write_cards(index)


def main() -> None:
    from . import detr_seeds, detr_teacher, sak_balance

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        'experiment',
        choices=[*MASK_EXPERIMENTS, detr_seeds.DETR_SEEDS, sak_balance.SAK_BALANCE, detr_teacher.DETR_TEACHER],
    )
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    ap.add_argument(
        '--arms',
        nargs='+',
        help='; '.join(f'{e}: {", ".join(m[3])}' for e, m in MASK_EXPERIMENTS.items())
        + f'; detr-seeds: {", ".join(detr_seeds.ARMS)}; sak-balance: {", ".join(sak_balance.ARMS)}',
    )
    ap.add_argument('--out', type=Path, default=None, help='result folder (default ml/experiments/<experiment>)')
    ap.add_argument('--summary', action='store_true', help='print the summary of the results there; train nothing')
    ap.add_argument(
        '--ship',
        action='store_true',
        help=f"{FEW_MASKS}: export the supervised and AttnFD arms of seed {SHIPPED_SEED} as the zoo's few-masks pair; "
        "sak-balance: export the balanced arm of seed 0 as the zoo's sak-student; "
        "detr-teacher: export the long-trained teacher as the zoo's detr-teacher",
    )
    ap.add_argument(
        '--into-cards',
        action='store_true',
        help='with --summary: write it into public/models/index.json (experiments.<name>) and the cards',
    )
    a = ap.parse_args()
    if a.experiment == detr_teacher.DETR_TEACHER:  # one run, no arms or seeds
        detr_teacher.ship() if a.ship else print(detr_teacher.train())
        return
    out = a.out or EXPERIMENTS / a.experiment
    other = {detr_seeds.DETR_SEEDS: detr_seeds, sak_balance.SAK_BALANCE: sak_balance}
    arm_names = list(
        MASK_EXPERIMENTS[a.experiment][3] if a.experiment in MASK_EXPERIMENTS else other[a.experiment].ARMS
    )
    arms = a.arms or arm_names
    if unknown := set(arms) - set(arm_names):
        ap.error(f'{a.experiment} has no arm {", ".join(sorted(unknown))} (it has {", ".join(arm_names)})')
    if a.experiment in other:
        module = other[a.experiment]
        if a.ship:
            if module is not sak_balance:
                ap.error(f'--ship is for {FEW_MASKS}, {sak_balance.SAK_BALANCE} and {detr_teacher.DETR_TEACHER}')
            sak_balance.ship()
        elif a.summary:
            doc = module.summary(out)
            if a.into_cards:
                module.into_cards(doc)
        else:
            module.run(a.seeds, arms, out)
        return
    if a.ship:
        if a.experiment != FEW_MASKS:
            ap.error(f'--ship is for {FEW_MASKS}, {sak_balance.SAK_BALANCE} and {detr_teacher.DETR_TEACHER}')
        ship_pair()
    elif a.summary:
        doc = summary(out)
        if a.into_cards:
            into_cards(doc, a.experiment)
    else:
        run_mask_arms(a.seeds, arms, out, a.experiment)
        summary(out)


if __name__ == '__main__':
    main()
