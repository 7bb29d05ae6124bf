"""Export the trained zoo to ONNX with contracts, measure it on the test split, write index.json and cards.

Every number in public/models/index.json is measured here from the exported .onnx files themselves (via
onnxruntime), so a card can never describe a different model than the one shipped.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from PIL import Image

from .common import MEAN, STD
from .data import CLASS_COLORS, CLASS_NAMES, FOREGROUND_CLASSES, render_scene, split_seed
from .dataset import IMAGE_SIZE, coco_document, load_boxes, load_split, render_scenes, write_coco
from .export_kit import (
    Tap,
    cbam_site_outputs,
    export_with_contract,
    make_contract,
    self_attention_output,
    torch_outputs,
)
from .intervals import BoxApByImage, miou_of, paired_bootstrap
from .metrics import (
    coco_box_ap_on_split,
    coco_box_eval,
    confusion_matrix,
    detections,
    evaluate_segmentation,
    pseudo_mask_metrics,
)
from .models.cbam_seg import SITES, TEACHER, CBAMSegmenter
from .models.vit import PatchViT
from .training import finished


def zoo_contract(*, image_size: int, **fields):
    """A zoo model's contract: the factory scenes' square RGB input, normalisation and classes, plus `fields`."""
    return make_contract(
        input_name='image',
        input_hw=(image_size, image_size),
        mean=MEAN,
        std=STD,
        class_names=CLASS_NAMES,
        class_colors=CLASS_COLORS,
        **fields,
    )


ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / 'public' / 'models'
SAMPLES = ROOT / 'public' / 'samples'
GALLERY = 16  # the first 16 test scenes: the app's sample gallery and the cards' re-check slice
SEG_STRIDES = {'backbone': 8, 'context': 8, 'decoder': 4}


def _site_hw(stride: int) -> tuple[int, int]:
    return IMAGE_SIZE // stride, IMAGE_SIZE // stride


def export_segmenter(
    model: CBAMSegmenter,
    model_id: str,
    name: str,
    role: str,
    description: str,
    connectors: torch.nn.ModuleDict | None = None,
    teacher_id: str | None = None,
) -> Path:
    widths = model.site_widths()
    outputs = [
        {
            'name': 'seg_logits',
            'role': 'segmentation_logits',
            'shape': [1, model.cfg.num_classes, IMAGE_SIZE, IMAGE_SIZE],
            'layout': 'NCHW',
            'description': 'per-pixel class logits at input size',
        }
    ]
    taps: dict[str, Tap] = {}
    for site in SITES:
        outputs += cbam_site_outputs(site, widths[site], _site_hw(SEG_STRIDES[site]), SEG_STRIDES[site])
        taps[f'cbam.{site}.channel'] = Tap(model.cbam[site].channel)
        taps[f'cbam.{site}.spatial'] = Tap(model.cbam[site].spatial)
        taps[f'cbam.{site}.refined'] = Tap(model.cbam[site])
    if connectors is not None:
        tw = CBAMSegmenter(TEACHER).site_widths()
        for site in SITES:
            h, w = _site_hw(SEG_STRIDES[site])
            outputs.append(
                {
                    'name': f'attnfd.{site}.projected',
                    'role': 'attnfd_projected',
                    'site': site,
                    'shape': [1, tw[site], h, w],
                    'stride': SEG_STRIDES[site],
                    'upsample': 'bilinear_align_corners',
                    'teacher': teacher_id,
                    'description': 'refined map through the trained 1x1 conv+BN connector, at the '
                    "teacher's width: AttnFD's loss compares this with the teacher's refined map",
                }
            )

    def collect(logits, tapped):
        out = {'seg_logits': logits, **tapped}
        if connectors is not None:
            for site in SITES:
                out[f'attnfd.{site}.projected'] = connectors[site](tapped[f'cbam.{site}.refined'])
        return out

    contract = zoo_contract(
        model_id=model_id,
        name=name,
        task='segmentation',
        role=role,
        family='cbam-segmenter',
        image_size=IMAGE_SIZE,
        outputs=outputs,
        methods=['attnfd'],
        teachers=[teacher_id] if teacher_id else None,
        description=description,
    )
    path = MODELS / f'{model_id}.onnx'
    wrapped = _WithConnectors(model, connectors)
    export_with_contract(wrapped, torch.zeros(1, 3, IMAGE_SIZE, IMAGE_SIZE), contract, path, collect, taps)
    write_parity_fixture(model_id, torch_outputs(wrapped, parity_input(), contract, collect, taps))
    return path


class _WithConnectors(torch.nn.Module):
    """Keeps the connectors inside the exported module tree (so their weights are in the graph)."""

    def __init__(self, model, connectors):
        super().__init__()
        self.model = model
        self.connectors = connectors if connectors is not None else torch.nn.ModuleDict()

    def forward(self, x):
        return self.model(x)


def export_vit(model: PatchViT, model_id: str, description: str) -> Path:
    cfg = model.cfg
    g = cfg.grid
    outputs = [
        {
            'name': 'label_logits',
            'role': 'multilabel_logits',
            'shape': [1, cfg.num_labels],
            'labels': list(range(1, cfg.num_labels + 1)),
            'description': 'image-level presence logits (sigmoid)',
        },
        {
            'name': 'cls_attention',
            'role': 'cls_attention',
            'shape': [1, cfg.depth, cfg.heads, g * g],
            'layout': 'batch,layer,head,key',
            'layers': list(range(cfg.depth)),
            'grid': [g, g],
            'patch': cfg.patch,
            'cls_token': 'leads',
            'keys': 'patches',
            'upsample': 'nearest',
            'description': 'softmax attention of the CLS query over patch keys, every layer and head',
        },
        {
            'name': 'cls_key_cosine',
            'role': 'cls_key_cosine',
            'shape': [1, cfg.heads, g * g],
            'layout': 'batch,head,key',
            'layer': cfg.depth - 1,
            'grid': [g, g],
            'patch': cfg.patch,
            'cls_token': 'leads',
            'keys': 'patches',
            'upsample': 'bilinear_align_corners',
            'description': "cosine(CLS query, patch key) of the last layer, per head: CST's pseudo-mask score",
        },
        {
            'name': 'patch_tokens',
            'role': 'token_features',
            'shape': [1, g * g, cfg.dim],
            'grid': [g, g],
            'patch': cfg.patch,
            'layout': 'batch,token,channel',
            'description': "last-layer patch tokens (before the final norm): what the SAK student's ViT path matches",
        },
        self_attention_output(
            'self_attention',
            list(range(cfg.depth)),
            cfg.heads,
            (g, g),
            cfg.patch,
            description="every layer's full softmax attention per head (token 0 is CLS, then the "
            "patches row-major): attention rollout's input. The last layer masks "
            'CLS→CLS, so its [0, 0] entries are 0.',
        ),
    ]
    contract = zoo_contract(
        model_id=model_id,
        name='ViT-S/8-mini (weakly supervised)',
        task='classification',
        role='teacher',
        family='vit',
        image_size=cfg.image,
        outputs=outputs,
        methods=['vit-pseudo-mask'],
        description=description,
    )
    path = MODELS / f'{model_id}.onnx'
    # Each Attention module returns (projected, attention [B, heads, T, T], cosine): tap the matrices, so the
    # model's forward (what training runs) is unchanged.
    taps = {
        'patch_tokens': Tap(model.blocks[-1], lambda out: out[0][:, 1:]),
        **{f'attn{i}': Tap(blk.attn, lambda out: out[1]) for i, blk in enumerate(model.blocks)},
    }

    def collect(out, t):
        return {
            **dict(zip(['label_logits', 'cls_attention', 'cls_key_cosine'], out)),
            'patch_tokens': t['patch_tokens'],
            'self_attention': torch.stack([t[f'attn{i}'] for i in range(cfg.depth)], 1),
        }

    export_with_contract(model, torch.zeros(1, 3, cfg.image, cfg.image), contract, path, collect, taps)
    write_parity_fixture(model_id, torch_outputs(model, parity_input(), contract, collect, taps))
    return path


FIXTURES = ROOT / 'ml' / 'tests' / 'fixtures'


def parity_input() -> torch.Tensor:
    """Gallery image 0, preprocessed as the contract says: the fixed input of the ONNX/PyTorch parity test."""
    return torch.from_numpy(preprocess(render_scene(split_seed('test', 0), IMAGE_SIZE).image[None]))


def write_parity_fixture(model_id: str, outputs: dict[str, torch.Tensor], per_output: int = 512) -> None:
    """PyTorch's values at a fixed sample of positions of every output, so CI can check the ONNX file
    against PyTorch without the training checkpoints."""
    FIXTURES.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for i, (name, t) in enumerate(outputs.items()):
        flat = t.detach().cpu().numpy().ravel()
        idx = np.sort(np.random.default_rng(i).choice(flat.size, min(per_output, flat.size), replace=False))
        arrays[f'{name}::index'] = idx
        arrays[f'{name}::value'] = flat[idx]
    np.savez_compressed(FIXTURES / f'parity-{model_id}.npz', **arrays)


def ort_session(path: Path) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    return ort.InferenceSession(str(path), opts, providers=['CPUExecutionProvider'])


def preprocess(images: np.ndarray) -> np.ndarray:
    x = images.astype(np.float32).transpose(0, 3, 1, 2) / 255.0
    return ((x - np.array(MEAN, np.float32)[:, None, None]) / np.array(STD, np.float32)[:, None, None]).astype(
        np.float32
    )


def seg_metrics_onnx(path: Path, images: np.ndarray, semantic: np.ndarray) -> dict:
    """metrics.evaluate_segmentation of the exported file, one image at a time (the graph's batch is 1)."""
    sess = ort_session(path)
    return evaluate_segmentation(
        lambda x: sess.run(['seg_logits'], {'image': preprocess(x)})[0].argmax(1), images, semantic, batch=1
    )


def vit_metrics_onnx(
    path: Path,
    images: np.ndarray,
    semantic: np.ndarray,
    patch: int,
    grid: int | None = None,
    mass: float = 0.6,
    score: float = 0.4,
    objects=None,
) -> dict:
    """metrics.pseudo_mask_metrics (with the rule's ideal-map limits) of the exported file's attention;
    objects (each image's instance masks) adds the last layer's head conventions."""
    if grid is not None and grid != semantic.shape[1] // patch:
        raise ValueError(f'a {grid}x{grid} patch grid does not cover {semantic.shape[1]} px with {patch} px patches')
    sess = ort_session(path)
    rows, cos = zip(
        *(
            sess.run(['cls_attention', 'cls_key_cosine'], {'image': preprocess(images[i : i + 1])})
            for i in range(len(images))
        )
    )
    return pseudo_mask_metrics(np.concatenate(rows), np.concatenate(cos), semantic, patch, mass, score, objects=objects)


def instance_masks(split: str, n: int) -> list[list[np.ndarray]]:
    """Each scene's visible instance masks (parts and defects), for per-object pseudo-mask figures."""
    return [[inst.mask for inst in scene.instances] for scene in render_scenes(split, n)]


def write_gallery() -> list[str]:
    """The first GALLERY test scenes as PNG + one COCO JSON: the app's samples and the re-check slice."""
    SAMPLES.mkdir(parents=True, exist_ok=True)
    scenes = [render_scene(split_seed('test', i), IMAGE_SIZE) for i in range(GALLERY)]
    names = [f'factory-test-{i:03d}.png' for i in range(GALLERY)]
    for scene, name in zip(scenes, names):
        Image.fromarray(scene.image).save(SAMPLES / name, optimize=True)
    write_coco(SAMPLES / 'coco.json', coco_document(scenes, names))
    (SAMPLES / 'index.json').write_text(
        json.dumps({'images': names, 'coco': 'coco.json', 'source': 'test split, seeds 3000000+i'}, indent=1)
    )
    return names


def write_test_coco() -> Path:
    """The whole test split as COCO JSON (boxes + RLE masks) next to the cached data."""
    from .dataset import DATA_DIR, render_scenes

    scenes = render_scenes('test', len(load_split('test')['images']))
    path = DATA_DIR / f'test-{IMAGE_SIZE}-coco.json'
    write_coco(path, coco_document(scenes, [f'test-{i:04d}.png' for i in range(len(scenes))]))
    return path


def file_facts(path: Path, module: torch.nn.Module) -> dict:
    return {
        'bytes': path.stat().st_size,
        'sha256': hashlib.sha256(path.read_bytes()).hexdigest(),
        'params': int(sum(p.numel() for p in module.parameters())),
    }


def node_latency(files: list[Path]) -> dict[str, float]:
    """onnxruntime-node latency per file (scripts/zoo-latency.mjs); empty if Node deps are not installed."""
    script = ROOT / 'scripts' / 'zoo-latency.mjs'
    try:
        out = subprocess.run(
            ['node', str(script), *map(str, files)], cwd=ROOT, capture_output=True, text=True, timeout=600, check=True
        ).stdout
        return json.loads(out.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as e:
        print(f'[zoo] onnxruntime-node latency skipped: {e}')
        return {}


def run_name(name: str) -> dict:
    """A finished training run's done.json record ({} when it has not finished)."""
    return finished(name) or {}


# ---------------------------------------------------------------- part 2: detectors and the SAK student

DETECTION_LABELS = list(FOREGROUND_CLASSES)  # class ids of the detectors' logits and the label heads, in order


class _DetrExport(torch.nn.Module):
    """Inference view of a SmallDETR: last decoder layer of the student stream, blocks split by name."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        out = self.model(x)
        logits, boxes = out['streams'][0][-1]
        n = self.model.cfg.num_o2o
        res = {
            'o2o.logits': logits[:, :n],
            'o2o.boxes': boxes[:, :n],
            'o2o.cross_attention': out['cross_attention'][:, :n],
            'encoder.attention': out['encoder_attention'],
        }
        if self.model.cfg.num_o2m:
            res.update(
                {
                    'o2m.logits': logits[:, n:],
                    'o2m.boxes': boxes[:, n:],
                    'o2m.cross_attention': out['cross_attention'][:, n:],
                }
            )
        return res


def export_detr(
    model, model_id: str, name: str, role: str, description: str, methods: list[str], teacher_id: str | None = None
) -> Path:
    cfg = model.cfg
    g = cfg.grid
    outputs = []
    blocks = [('o2o', 'one_to_one', cfg.num_o2o)] + ([('o2m', 'one_to_many', cfg.num_o2m)] if cfg.num_o2m else [])
    for prefix, block, q in blocks:
        extra = {'k': cfg.k} if block == 'one_to_many' else {}
        outputs += [
            {
                'name': f'{prefix}.logits',
                'role': 'box_logits',
                'shape': [1, q, cfg.num_classes],
                'block': block,
                'labels': DETECTION_LABELS,
                'activation': 'sigmoid',
                **extra,
                'description': 'per-query class logits (sigmoid, focal-loss trained)',
            },
            {
                'name': f'{prefix}.boxes',
                'role': 'boxes',
                'shape': [1, q, 4],
                'block': block,
                'box_format': 'cxcywh_normalized',
                **extra,
            },
            {
                'name': f'{prefix}.cross_attention',
                'role': 'cross_attention',
                'shape': [1, q, g * g],
                'block': block,
                'grid': [g, g],
                'stride': 8,
                'layout': 'batch,query,key',
                'upsample': 'bilinear',
                **extra,
                'description': "last decoder layer's cross-attention per query over the feature grid, head mean",
            },
        ]
    outputs.append(
        {
            'name': 'encoder.attention',
            'role': 'encoder_attention',
            'shape': [1, cfg.heads, g * g, g * g],
            'grid': [g, g],
            'stride': 8,
            'layout': 'batch,head,query,key',
            'upsample': 'bilinear',
            'description': "last encoder layer's self-attention per head (student stream)",
        }
    )
    contract = zoo_contract(
        model_id=model_id,
        name=name,
        task='detection',
        role=role,
        family='detr',
        image_size=cfg.image,
        outputs=outputs,
        methods=methods,
        teachers=[teacher_id] if teacher_id else None,
        description=description,
    )
    path = MODELS / f'{model_id}.onnx'
    wrapped = _DetrExport(model)
    collect = lambda out, _t: out  # noqa: E731
    export_with_contract(wrapped, torch.zeros(1, 3, cfg.image, cfg.image), contract, path, collect)
    write_parity_fixture(model_id, torch_outputs(wrapped, parity_input(), contract, collect))
    return path


def detr_predictions(path: Path, images: np.ndarray, block: str = 'o2o') -> list:
    """metrics.detections of the exported file's `block` queries, image by image (the graph's batch is 1)."""
    sess = ort_session(path)
    preds = []
    for i in range(len(images)):
        logits, boxes = sess.run([f'{block}.logits', f'{block}.boxes'], {'image': preprocess(images[i : i + 1])})
        preds.append(detections(logits[0], boxes[0]))
    return preds


def detr_metrics_onnx(path: Path, images: np.ndarray, split: str, block: str = 'o2o') -> dict:
    """metrics.coco_box_ap_on_split of the exported file's `block` queries; `images` are the split's first."""
    return coco_box_ap_on_split(detr_predictions(path, images, block), split)


def seg_confusions_onnx(path: Path, images: np.ndarray, semantic: np.ndarray) -> np.ndarray:
    """Per-image confusion matrices [N, C, C] of the exported segmenter (for intervals.miou_of)."""
    sess = ort_session(path)
    return np.stack(
        [
            confusion_matrix(
                semantic[i], sess.run(['seg_logits'], {'image': preprocess(images[i : i + 1])})[0][0].argmax(0)
            )
            for i in range(len(images))
        ]
    )


def detr_ap_by_image(path: Path, images: np.ndarray, split: str, block: str = 'o2o') -> BoxApByImage:
    """The exported detector's pycocotools evaluation on the split's first len(images) scenes, per image."""
    preds = detr_predictions(path, images, block)
    labels = load_boxes(split, len(preds))
    return BoxApByImage(coco_box_eval(preds, labels['classes'], labels['boxes'], IMAGE_SIZE))


# The cards' comparisons: (A, B, what A adds, caveat or None). Each gets a paired bootstrap interval over the
# test images.
COMPARISONS = [
    ('seg-student-attnfd', 'seg-student-plain', 'AttnFD β 0.3', None),
    ('seg-student-attnfd-b0.1', 'seg-student-plain', 'AttnFD β 0.1', None),
    ('seg-student-wide-attnfd', 'seg-student-wide-plain', 'AttnFD β 0.3, wide student', None),
    (
        'seg-student-attnfd-few-masks',
        'seg-student-plain-few-masks',
        'AttnFD β 0.3, 10 % of masks',
        'A and B are the few-masks fair controls (seed 0): both read a batch of 16 labelled images every step; A '
        'adds the AttnFD term on ordinary batches, from a seg-teacher retrained for the experiment. What AttnFD adds '
        'beyond plain feature distillation (FitNets) is in the few-masks section, over seeds.',
    ),
    ('detr-student-hybrid', 'detr-student-o2o', 'hybrid matching (one-to-many block)', None),
    ('detr-student-ks', 'detr-student-o2o', 'KS-DETR knowledge sharing', None),
]


def comparison_intervals(paths: dict[str, Path], test: dict, resamples: int = 1000) -> list[dict]:
    """Paired bootstrap (intervals.paired_bootstrap) of every COMPARISONS pair whose files are given: mIoU
    for segmenters, COCO AP for detectors, on the test split."""
    stats: dict[str, object] = {}

    def stat(model_id: str):
        if model_id not in stats:
            if model_id.startswith('detr-'):
                stats[model_id] = detr_ap_by_image(paths[model_id], test['images'], 'test').ap
            else:
                stats[model_id] = miou_of(seg_confusions_onnx(paths[model_id], test['images'], test['semantic']))
        return stats[model_id]

    out = []
    for a, b, what, caveat in COMPARISONS:
        if a in paths and b in paths:
            r = paired_bootstrap(stat(a), stat(b), len(test['images']), resamples)
            metric = 'ap' if a.startswith('detr-') else 'miou'
            out.append({'a': a, 'b': b, 'what': what, 'metric': metric, **r, 'caveat': caveat})
    return out


def export_sak(model, model_id: str, description: str) -> Path:
    cfg = model.cfg
    h = IMAGE_SIZE // 8
    outputs = [
        {
            'name': 'seg_logits',
            'role': 'segmentation_logits',
            'shape': [1, cfg.num_classes, IMAGE_SIZE, IMAGE_SIZE],
            'layout': 'NCHW',
        },
        {'name': 'label_logits', 'role': 'multilabel_logits', 'shape': [1, cfg.num_labels], 'labels': DETECTION_LABELS},
        {
            'name': 'router_weights',
            'role': 'router_weights',
            'shape': [1, 1 + len(cfg.teachers)],
            'paths': ['stem'] + [t for t, _ in cfg.teachers],
            'description': 'softmax mix of [stem, path per teacher]',
        },
    ]
    teacher_outputs = {'seg-teacher': 'cbam.context.refined', 'vit-attn': 'patch_tokens'}
    for t, width in cfg.teachers:
        outputs.append(
            {
                'name': f'sak.{t}.projected',
                'role': 'adapter_features',
                'shape': [1, width, h, h],
                'teacher': t,
                'teacher_output': teacher_outputs[t],
                'stride': 8,
                'upsample': 'bilinear_align_corners',
                'description': f'the {t} adapter path through its projector, trained to match {teacher_outputs[t]}',
            }
        )
    contract = zoo_contract(
        model_id=model_id,
        name='SAK student (2 teachers)',
        task='segmentation',
        role='student',
        family='sak',
        image_size=IMAGE_SIZE,
        outputs=outputs,
        methods=['sak'],
        teachers=[t for t, _ in cfg.teachers],
        description=description,
    )
    names = [o['name'] for o in outputs]

    def collect(out, _t):
        seg, labels, weights, projected = out
        return dict(zip(names, [seg, labels, weights, *projected]))

    path = MODELS / f'{model_id}.onnx'
    export_with_contract(model, torch.zeros(1, 3, IMAGE_SIZE, IMAGE_SIZE), contract, path, collect)
    write_parity_fixture(model_id, torch_outputs(model, parity_input(), contract, collect))
    return path


def refresh_latency() -> dict[str, float]:
    """Every shipped file's onnxruntime-node latency measured again in one go (the same conditions for all), into
    index.json and the cards: after a file is replaced, its old neighbours' figures came from another run."""
    from .cards import write_cards

    index_path = MODELS / 'index.json'
    index = json.loads(index_path.read_text())
    found = node_latency([MODELS.parent / m['file'] for m in index['models']])
    if not found:
        raise SystemExit('onnxruntime-node is not installed here (npm ci): nothing measured')
    for m in index['models']:
        m['latency_ms'] = {'onnxruntime_node': found[Path(m['file']).name]}
    index_path.write_text(json.dumps(index, indent=1))
    write_cards(index)
    return found


if __name__ == '__main__':
    import sys

    if sys.argv[1:] != ['--latency']:
        raise SystemExit(
            'usage: python -m attnlens_ml.zoo --latency   (re-measure every shipped file, rewrite the cards)'
        )
    print(refresh_latency())
