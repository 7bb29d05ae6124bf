"""sak-balance: the zoo's first SAK student's router sent 0.999 of its weight to the seg-teacher path, although SAK's
router noise (σ = 1) was on. Does the balancing a mixture-of-experts router admits — the importance loss
(train_sak.router_balance_loss, weight BALANCE) — keep every path in use, and what does it cost the task?

    ml/.venv/bin/python -m attnlens_ml.experiments sak-balance [--seeds 0 1 2] [--arms noise balanced]
    ml/.venv/bin/python -m attnlens_ml.experiments sak-balance --summary [--into-cards]

Two arms at the zoo's SAK budget (pipeline.SAK_STEPS steps, batch 16, lr 3e-3, the same data order per seed):
  noise    — the shipped recipe: router noise only;
  balanced — + BALANCE · importance loss.
Both distil from the shipped teachers' own files (public/models/seg-teacher.onnx's cbam.context.refined and
vit-attn.onnx's patch_tokens, computed once with onnxruntime: the ViT's training checkpoint is not kept), so
neither arm is the shipped file; `noise` is its retrained twin. Each run: ml/runs/sakb-<arm>-s<seed>/, its result
ml/experiments/sak-balance/<arm>-s<seed>.json with test mIoU (pooled confusion, as the cards), the router's mean
weights over the test images, and per-image confusions for the paired bootstrap (experiments.paired_difference).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from .common import RUNS, to_input
from .data import NUM_CLASSES
from .dataset import load_split
from .metrics import confusion_matrix, segmentation_metrics
from .models.sak import SAKConfig
from .train_sak import load_sak, train_sak
from .training import device
from .zoo import export_sak

SAK_BALANCE = 'sak-balance'
BALANCE = 1.0
ARMS = {'noise': 0.0, 'balanced': BALANCE}
PATHS = ['stem', *(t for t, _ in SAKConfig().teachers)]
MODELS = Path(__file__).resolve().parents[2] / 'public/models'


def run_name(arm: str, seed: int) -> str:
    return f'sakb-{arm}-s{seed}'


def tokens_to_grid(tokens: np.ndarray) -> np.ndarray:
    """ViT patch tokens [N, T, D] (row-major patches) → a feature map [N, D, g, g], as train_sak.teacher_features."""
    n, t, d = tokens.shape
    g = int(round(t**0.5))
    if g * g != t:
        raise ValueError(f'{t} patch tokens do not make a square grid')
    return tokens.transpose(0, 2, 1).reshape(n, d, g, g)


def onnx_targets(images: np.ndarray, batch: int = 50) -> list[torch.Tensor]:
    """The teachers' features for every image from the shipped files, fp16: [N, 128, 20, 20] and [N, 64, 20, 20].
    Cached in ml/runs/sak-balance-targets.pt (4,000 images take minutes)."""
    from .zoo import ort_session, preprocess

    cache = RUNS / 'sak-balance-targets.pt'
    if cache.exists():
        cached = torch.load(cache)
        if cached[0].shape[0] == len(images):
            return cached
    seg = ort_session(MODELS / 'seg-teacher.onnx')
    vit = ort_session(MODELS / 'vit-attn.onnx')
    seg_feats, vit_feats = [], []
    for i in range(0, len(images), batch):
        x = preprocess(images[i : i + batch])
        seg_feats.append(torch.from_numpy(seg.run(['cbam.context.refined'], {'image': x})[0]).half())
        vit_feats.append(torch.from_numpy(tokens_to_grid(vit.run(['patch_tokens'], {'image': x})[0])).half())
    targets = [torch.cat(seg_feats), torch.cat(vit_feats)]
    cache.parent.mkdir(parents=True, exist_ok=True)
    torch.save(targets, cache)
    return targets


@torch.no_grad()
def test_metrics(model, images: np.ndarray, semantic: np.ndarray, batch: int = 50) -> dict:
    """Pooled test metrics, the router's mean weights, and per-image confusions (as experiments.test_metrics)."""
    model.eval()
    dev = next(model.parameters()).device
    pooled = np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64)
    per_conf, router = [], []
    for i in range(0, len(images), batch):
        seg, _, w, _ = model(to_input(images[i : i + batch], dev))
        router.append(w.cpu().numpy())
        for truth, p in zip(semantic[i : i + batch], seg.argmax(1).cpu().numpy()):
            conf = confusion_matrix(truth, p)
            pooled += conf
            per_conf.append(conf.ravel().tolist())
    weights = np.concatenate(router)
    return {
        **segmentation_metrics(pooled),
        'images': int(len(images)),
        'router_mean': dict(zip(PATHS, weights.mean(0).round(4).tolist())),
        # images on which one path takes at least 95 % of the weight (the app's SAK view calls that collapsed)
        'router_collapsed_share': round(float((weights.max(1) >= 0.95).mean()), 4),
        'per_image': {'confusion': per_conf},
    }


def run(seeds: list[int], arms: list[str], out: Path) -> None:
    from .experiments import _write_json
    from .pipeline import SAK_STEPS

    out.mkdir(parents=True, exist_ok=True)
    todo = [(s, a) for s in seeds for a in arms if not (out / f'{a}-s{s}.json').exists()]
    if not todo:
        print('[sak-balance] every run has its result')
        return
    t0 = time.time()
    train = load_split('train')
    targets = onnx_targets(train['images'])
    print(f'[sak-balance] teacher features ready ({time.time() - t0:.0f}s); runs to do: {todo}', flush=True)
    test = load_split('test')
    for seed, arm in todo:
        name, t = run_name(arm, seed), time.time()
        info = train_sak(name, None, None, SAK_STEPS, seed=seed, balance=ARMS[arm], targets=targets)
        model = load_sak(name).to(device())
        doc = {
            'experiment': SAK_BALANCE,
            'arm': arm,
            'seed': seed,
            'run': name,
            'settings': {
                'steps': info['steps'],
                'batch': info['batch'],
                'lr': info['lr'],
                'balance': ARMS[arm],
                'router_noise': SAKConfig().router_noise,
                'teachers': 'public/models/seg-teacher.onnx, public/models/vit-attn.onnx (onnxruntime)',
            },
            'val': info['val'],
            'test': test_metrics(model, test['images'], test['semantic']),
            'wall_seconds': round(time.time() - t, 1),
        }
        _write_json(out / f'{arm}-s{seed}.json', doc)
        print(
            f'[sak-balance] {arm} s{seed}: test miou {doc["test"]["miou"]:.4f} router {doc["test"]["router_mean"]}',
            flush=True,
        )


def summary(out: Path) -> dict:
    """Per arm over seeds: test mIoU, router mean per path, collapsed share; balanced − noise with its interval."""
    from .experiments import _spread, paired_difference

    res: dict[str, dict[int, dict]] = {}
    for p in sorted(out.glob('*-s*.json')):
        doc = json.loads(p.read_text())
        res.setdefault(doc['arm'], {})[doc['seed']] = doc
    doc: dict = {'balance': BALANCE, 'paths': PATHS, 'arms': {}, 'contrast': None}
    for arm in ARMS:
        runs = res.get(arm, {})
        if not runs:
            continue
        seeds = sorted(runs)
        a = doc['arms'][arm] = {
            'seeds': seeds,
            'test_miou': [runs[s]['test']['miou'] for s in seeds],
            'router_mean': {p: [runs[s]['test']['router_mean'][p] for s in seeds] for p in PATHS},
            'collapsed_share': [runs[s]['test']['router_collapsed_share'] for s in seeds],
            # the image-label head (taught by the labels, next to the ViT's path): validation split, as trained
            'val_label_accuracy': [runs[s]['val']['label_accuracy'] for s in seeds],
            'val_exact_match': [runs[s]['val']['exact_match'] for s in seeds],
        }
        print(f'{arm:9s} test mIoU {_spread(a["test_miou"])}')
        print(f'{"":9s} val label accuracy {_spread(a["val_label_accuracy"])}, exact {_spread(a["val_exact_match"])}')
        for p in PATHS:
            print(f'{"":9s} router {p:10s} {_spread(a["router_mean"][p])}')
    if all(arm in res for arm in ARMS):
        conf = {
            arm: {
                s: np.asarray(r['test']['per_image']['confusion'], np.int64).reshape(-1, NUM_CLASSES, NUM_CLASSES)
                for s, r in res[arm].items()
            }
            for arm in ARMS
        }
        d = paired_difference(conf['balanced'], conf['noise'], 'miou')
        doc['contrast'] = d
        if d:
            print(
                f'balanced − noise: miou {d["diff"]:+.4f} [{d["ci"][0]:+.4f}, {d["ci"][1]:+.4f}] (seeds {d["seeds"]})'
            )
    return doc


def into_cards(doc: dict) -> None:
    from .cards import write_cards
    from .zoo import MODELS as ZOO

    path = ZOO / 'index.json'
    index = json.loads(path.read_text())
    shipped = index['experiments'].get('sak_balance', {}).get('shipped')
    index['experiments']['sak_balance'] = {
        'experiment': SAK_BALANCE,
        'seeds_planned': [0, 1, 2],
        **({'shipped': shipped} if shipped else {}),
        **doc,
    }
    path.write_text(json.dumps(index, indent=1))
    write_cards(index)


SHIPPED_SEED = 0


def ship(seed: int = SHIPPED_SEED) -> None:
    """Export the balanced arm of `seed` over the zoo's `sak-student`: the file (batch axis open), its index.json
    entry (test and check-slice metrics from the file, latency, training record), the cards' SAK section (router
    weights, labels) from the file, and the cards."""
    from .batch_axis import open_file
    from .cards import write_cards
    from .pipeline import sak_summary
    from .training import finished
    from .zoo import GALLERY, file_facts, node_latency, seg_metrics_onnx
    from .zoo import MODELS as ZOO

    name = run_name('balanced', seed)
    info = finished(name)
    if not info:
        raise SystemExit(f'{name} has not finished: run `experiments sak-balance --seeds {seed}` first')
    model = load_sak(name)
    path = export_sak(
        model,
        'sak-student',
        'Small CNN stem + one adapter path per teacher (seg-teacher, vit-attn) + a per-image router, its paths '
        f'kept in use by the importance loss (weight {BALANCE}); segmentation and image labels.',
    )
    open_file(path)
    index_path = ZOO / 'index.json'
    index = json.loads(index_path.read_text())
    entry = next(m for m in index['models'] if m['id'] == 'sak-student')
    test = load_split('test')
    entry.update(file_facts(path, model))
    entry['metrics'] = {
        'test': seg_metrics_onnx(path, test['images'], test['semantic']),
        'check_slice': seg_metrics_onnx(path, test['images'][:GALLERY], test['semantic'][:GALLERY]),
    }
    entry['latency_ms'] = {'onnxruntime_node': node_latency([path]).get(path.name)}
    entry['training'] = {**info, 'experiment': SAK_BALANCE, 'arm': 'balanced'}
    index['experiments']['sak'] = sak_summary(path, test)
    index['experiments'].setdefault('sak_balance', {})['shipped'] = {'arm': 'balanced', 'seed': seed}
    index_path.write_text(json.dumps(index, indent=1))
    write_cards(index)
    print(f'[ship] {name} → sak-student: test mIoU {entry["metrics"]["test"]["miou"]:.4f}', flush=True)
