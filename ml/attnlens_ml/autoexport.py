"""`export()`: one call that finds what AttnLens can show in a PyTorch model and writes it as contract outputs.

    from attnlens_ml.export_kit import export
    export(model, torch.zeros(1, 3, 160, 160), 'student.onnx', task='segmentation', role='student',
           model_id='my-student', classes=['background', 'bolt', 'nut'])

It inspects the module tree and the model's output, taps what it recognises (docs/export/), writes the ONNX with
its embedded contract (export_kit.export_with_contract: the contract is validated and checked against the graph),
checks that onnxruntime's outputs equal PyTorch's, and prints what it found and what it could not. It recognises:

- the task head: a tensor [1, K] (class logits), [1, K, h, w] or a dict's 'out' (torchvision's segmenters:
  segmentation logits; a map smaller than the input is upsampled in the graph, as SegFormer's post-processing
  does), Hugging Face outputs (`logits`, DETR's `logits` + `pred_boxes`), the original DETR's dict;
- attention: timm's ViT, torchvision's VisionTransformer (its nn.MultiheadAttention calls are made to return
  per-head weights, the forward result unchanged), Hugging Face ViT / DeiT / DINOv2 (incl. register tokens) through
  `output_attentions` (set on the config for the export only), DETR / Conditional-DETR decoder cross-attention
  and encoder self-attention;
- gates: CBAM modules by type (a module with a channel and a spatial gate: timm's CbamModule, the zoo's CBAM) and
  channel-only gates (squeeze-and-excitation: torchvision's SqueezeExcitation in MobileNetV3, timm's SEModule).

What it cannot place it names, with what to do (docs/export/*.md "When the kit cannot find something").
"""

from __future__ import annotations

import colorsys
import inspect
import json
import re
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import export_kit as kit

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
TASKS = ('segmentation', 'detection', 'classification', 'features')


# ---------------------------------------------------------------- the report


@dataclass
class ExportReport:
    """What export() did: the file, its contract, what it found and could not, the parity check, timings."""

    path: Path
    contract: dict
    found: list[str]
    not_found: list[str]
    max_abs_diff: dict[str, float]
    seconds: float
    bytes: int

    def __str__(self) -> str:
        lines = [f'AttnLens export: {self.path} ({self.bytes / 1e6:.2f} MB, {self.seconds:.1f} s)']
        lines += [f'  found: {f}' for f in self.found]
        lines += [f'  not found: {f}' for f in self.not_found]
        lines.append('  outputs:')
        for o in self.contract['outputs']:
            diff = self.max_abs_diff.get(o['name'])
            check = '' if diff is None else f'  (onnxruntime vs PyTorch: max |diff| {diff:.1e})'
            lines.append(f'    {o["name"]:<28} {o["role"]:<20} {o["shape"]}{check}')
        return '\n'.join(lines)


class ExportError(RuntimeError):
    """The kit could not export this model as asked; the message says what it found and what to do."""


# ---------------------------------------------------------------- patches active while the kit runs the model


class _Probe(nn.Identity):
    """Forward hooks on this module see a tensor the model computes but does not return (e.g. MHA weights)."""


def _mha_slow_path(m: nn.MultiheadAttention, args: inspect.BoundArguments) -> tuple[torch.Tensor, torch.Tensor]:
    """nn.MultiheadAttention's forward through F.multi_head_attention_forward with per-head weights: the path the
    module itself takes outside its fused inference fast path (which torch.onnx cannot export, and which never
    returns weights). Same parameters, same arithmetic."""
    a = args.arguments
    query, key, value = a['query'], a['key'], a['value']
    batched = query.dim() == 3
    if m.batch_first and batched:
        query, key, value = (t.transpose(1, 0) for t in (query, key, value))
    extra = {'is_causal': a['is_causal']} if 'is_causal' in a else {}
    separate = {}
    if not m._qkv_same_embed_dim:
        separate = dict(
            use_separate_proj_weight=True,
            q_proj_weight=m.q_proj_weight,
            k_proj_weight=m.k_proj_weight,
            v_proj_weight=m.v_proj_weight,
        )
    out, weights = F.multi_head_attention_forward(
        query,
        key,
        value,
        m.embed_dim,
        m.num_heads,
        m.in_proj_weight,
        m.in_proj_bias,
        m.bias_k,
        m.bias_v,
        m.add_zero_attn,
        m.dropout,
        m.out_proj.weight,
        m.out_proj.bias,
        training=m.training,
        key_padding_mask=a['key_padding_mask'],
        need_weights=True,
        attn_mask=a['attn_mask'],
        average_attn_weights=False,
        **separate,
        **extra,
    )
    if m.batch_first and batched:
        out = out.transpose(1, 0)
    return out, weights


@contextmanager
def per_head_mha_weights(modules: Sequence[nn.MultiheadAttention]) -> Iterator[list[_Probe]]:
    """Make each nn.MultiheadAttention also compute its per-head attention weights [B, H, L, S] and pass them
    through a probe module (tap its output: `Tap(probe)`), whatever the caller asked for: torchvision's
    VisionTransformer calls `self_attention(query=x, key=x, value=x, need_weights=False)`, which never materialises
    the weights (and in eval mode takes a fused fast path torch.onnx cannot export). Positional and keyword
    arguments are both accepted; the caller gets back what it asked for (`need_weights`, `average_attn_weights`)
    and the same attention output as the unpatched module (the module's own non-fused path; equal up to float
    rounding, which export() checks). Restored on exit."""
    probes = []
    for m in modules:
        probe = _Probe()
        sig = inspect.signature(m.forward)

        def forward(*args, _m=m, _sig=sig, _probe=probe, **kwargs):
            bound = _sig.bind(*args, **kwargs)
            bound.apply_defaults()
            out, weights = _mha_slow_path(_m, bound)
            weights = _probe(weights)
            if not bound.arguments['need_weights']:
                return out, None
            return out, weights.mean(1) if bound.arguments.get('average_attn_weights', True) else weights

        m.forward = forward
        probes.append(probe)
    try:
        yield probes
    finally:
        for m in modules:
            del m.forward


@contextmanager
def _hf_output_attentions(model: nn.Module) -> Iterator[None]:
    """Hugging Face models return attention only with `config.output_attentions` (set for the export only)."""
    config = model.config
    saved = (config.output_attentions, getattr(config, 'return_dict', True))
    config.output_attentions, config.return_dict = True, True
    try:
        yield
    finally:
        config.output_attentions, config.return_dict = saved


@contextmanager
def _frozen_position_encodings(model: nn.Module) -> Iterator[list[str]]:
    """Hugging Face ViTs (DINOv2) interpolate their position embeddings whenever they are traced, with an
    antialiased bicubic resize that torch.onnx cannot export (and that eager mode skips at the native size). The
    export is for one fixed input size, so the interpolated table is a constant: it is computed eagerly (the probe
    run) and reused while tracing. Yields the module paths it froze."""
    mods = [
        (n, m)
        for n, m in model.named_modules()
        if callable(getattr(m, 'interpolate_pos_encoding', None))
        and isinstance(getattr(m, 'position_embeddings', None), nn.Parameter)
    ]
    cache: dict[int, torch.Tensor] = {}
    for _, m in mods:
        orig = m.interpolate_pos_encoding

        def frozen(*args, _orig=orig, _key=id(m), **kwargs):
            if not torch.jit.is_tracing():
                cache[_key] = _orig(*args, **kwargs)
                return cache[_key]
            if _key not in cache:
                raise ExportError('position embeddings were not computed eagerly before tracing (kit bug)')
            return cache[_key]

        m.interpolate_pos_encoding = frozen
    try:
        yield [n for n, _ in mods]
    finally:
        for _, m in mods:
            del m.interpolate_pos_encoding


@contextmanager
def _timm_explicit(modules: Sequence[nn.Module]) -> Iterator[None]:
    saved = [m.fused_attn for m in modules]
    for m in modules:
        m.fused_attn = False
    try:
        yield
    finally:
        for m, v in zip(modules, saved):
            m.fused_attn = v


# ---------------------------------------------------------------- what a finder contributes


Collect = Callable[[Any, dict[str, torch.Tensor]], dict[str, torch.Tensor]]


@dataclass
class Plan:
    outputs: list[dict] = field(default_factory=list)
    taps: dict[str, kit.Tap] = field(default_factory=dict)
    collects: list[Collect] = field(default_factory=list)
    found: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    family: str = ''

    def add(self, outputs: list[dict], collect: Collect, taps: dict[str, kit.Tap] | None = None) -> None:
        self.outputs += outputs
        self.collects.append(collect)
        self.taps.update(taps or {})

    def collect(self, out, tapped: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        named: dict[str, torch.Tensor] = {}
        for c in self.collects:
            named.update(c(out, tapped))
        return named


def _is_hf(model: nn.Module) -> bool:
    return type(model).__module__.startswith('transformers.') and hasattr(model, 'config')


def _field(out, key: str):
    """A field of a model output: a Hugging Face ModelOutput / dict key or attribute, else None."""
    if isinstance(out, Mapping):
        return out.get(key)
    return getattr(out, key, None)


def _site_name(path: str) -> str:
    return re.sub(r'[^a-zA-Z0-9_.-]+', '_', path) or 'root'


def _palette(n: int, background: bool) -> list[str]:
    """Distinct colours (golden-angle hues); a segmenter's class 0 (background) is dark grey."""
    colours = []
    for i in range(n):
        if background and i == 0:
            colours.append('#1f2430')
            continue
        r, g, b = colorsys.hsv_to_rgb((i * 0.381966) % 1.0, 0.75, 0.95)
        colours.append(f'#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}')
    return colours


def class_table(
    classes, count: int, *, model_labels: Mapping[int, str] | None, background: bool
) -> tuple[list[str], list[str], str]:
    """Names and colours of class ids 0..count−1 and where they came from. `classes` (the user's) wins: a list of
    names, a list of {id, name, color}, a mapping {id: name} (ids the model's output columns / channels), or a
    path to a JSON file holding one of these; else the model's own labels (a Hugging Face config's id2label);
    else class_<i>. Ids it does not name keep the model's name or class_<i>."""
    source = 'class_<i> (no names given: pass classes=)'
    names: dict[int, str] = {}
    colours: dict[int, str] = {}
    if model_labels:
        names.update({int(k): str(v) for k, v in model_labels.items()})
        source = "the model's config (id2label)"
    if isinstance(classes, (str, Path)):
        classes = json.loads(Path(classes).read_text())
    if classes is not None:
        if isinstance(classes, Mapping):
            items = {int(k): v for k, v in classes.items()}
        else:
            items = {}
            for i, c in enumerate(classes):
                if isinstance(c, Mapping):
                    items[int(c.get('id', i))] = c
                else:
                    items[i] = c
        for k, v in items.items():
            if isinstance(v, Mapping):
                names[k] = str(v['name'])
                if 'color' in v:
                    colours[k] = str(v['color'])
            else:
                names[k] = str(v)
        source = 'classes= (yours)'
        extra = sorted(k for k in items if not 0 <= k < count)
        if extra:
            raise ExportError(
                f'classes= names ids {extra}, but the model has {count} classes (ids 0..{count - 1}: its output '
                f'channels / columns)'
            )
    palette = _palette(count, background)
    return (
        [names.get(i, f'class_{i}') for i in range(count)],
        [colours.get(i, palette[i]) for i in range(count)],
        source,
    )


# ---------------------------------------------------------------- the finders


def _main_output(out) -> tuple[torch.Tensor | None, str]:
    if isinstance(out, torch.Tensor):
        return out, 'the tensor it returns'
    if isinstance(out, Mapping) and isinstance(out.get('out'), torch.Tensor):
        return out['out'], "its output dict's 'out' (torchvision segmentation head)"
    logits = _field(out, 'logits')
    if isinstance(logits, torch.Tensor):
        return logits, 'its output.logits'
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
        return out[0], 'the first element of the tuple it returns'
    return None, ''


def _pick_main(out) -> torch.Tensor:
    return _main_output(out)[0]


def _segmentation(plan: Plan, out, hw: tuple[int, int], n_classes: int) -> None:
    logits, where = _main_output(out)
    if logits is None or logits.dim() != 4:
        raise ExportError(
            f'task=segmentation needs logits [1, K, h, w]; the model returns {_describe(out)}. Export your own '
            f'wrapper that returns the logits, or see docs/export/torchvision.md'
        )
    h, w = logits.shape[2:]
    plan.found.append(f'segmentation logits {list(logits.shape)} ({where})')
    upsample = (h, w) != hw
    if upsample:
        plan.found.append(
            f'the logits are {h}x{w}, the input {hw[0]}x{hw[1]}: upsampled in the graph to input size '
            f'(bilinear, align_corners=False, as SegFormer / torchvision post-process them), since contract '
            f'segmentation_logits are at input size'
        )

    def collect(o, _t):
        x = _pick_main(o)
        return {'seg_logits': F.interpolate(x, size=hw, mode='bilinear', align_corners=False) if upsample else x}

    plan.add(
        [
            {
                'name': 'seg_logits',
                'role': 'segmentation_logits',
                'shape': [1, n_classes, hw[0], hw[1]],
                'layout': 'NCHW',
                'description': 'per-pixel class logits' + (f' (upsampled from {h}x{w})' if upsample else ''),
            }
        ],
        collect,
    )
    if isinstance(out, Mapping) and 'aux' in out:
        plan.not_found.append("the auxiliary head's 'aux' logits are not exported (training-only)")


def _classification(plan: Plan, out, n_classes: int, multilabel: bool) -> None:
    logits, where = _main_output(out)
    if logits is None or logits.dim() != 2:
        raise ExportError(
            f'task=classification needs logits [1, K]; the model returns {_describe(out)}. Wrap the model so it '
            f'returns them, or use task=features for a backbone'
        )
    role = 'multilabel_logits' if multilabel else 'class_logits'
    plan.found.append(f'{"multi-label" if multilabel else "softmax"} class logits {list(logits.shape)} ({where})')
    plan.add(
        [{'name': 'logits', 'role': role, 'shape': [1, n_classes], 'labels': list(range(n_classes))}],
        lambda o, _t: {'logits': _pick_main(o)},
    )


def _detection(plan: Plan, out, labels: list[int], activation: str, score_threshold):
    logits = _field(out, 'logits')
    if logits is None:
        logits = _field(out, 'pred_logits')  # the original DETR's dict
    boxes = _field(out, 'pred_boxes')
    if logits is None or boxes is None or logits.dim() != 3 or boxes.shape[-1] != 4:
        raise ExportError(
            f'task=detection: the kit reads DETR-style outputs (logits [1, Q, C] and pred_boxes [1, Q, 4], '
            f'cxcywh normalised); the model returns {_describe(out)}. See docs/export/huggingface.md'
        )
    q, c = logits.shape[1:]
    no_object = activation == 'softmax' and c == len(labels) + 1
    plan.found.append(
        f'DETR query block: {q} queries, {c} class columns ({activation}'
        + (', the last one no-object' if no_object else '')
        + '), boxes cxcywh normalised'
    )
    outputs = kit.detection_block_outputs('o2o', 'one_to_one', q, labels, activation=activation)
    outputs[0]['shape'] = [1, q, c]
    if score_threshold is not None:
        outputs[0]['score_threshold'] = float(score_threshold)
    plan.add(outputs, lambda o, _t: {'o2o.logits': _det_logits(o), 'o2o.boxes': _field(o, 'pred_boxes')})


def _detector_head(model, out, classes, id2label, activation: str | None) -> tuple[str, int]:
    """A DETR head's activation and number of labels L (its logits have L columns, or L + 1 with DETR's softmax
    no-object column). Hugging Face's DETR (and the original DETR's dict) use softmax with no-object;
    Conditional / Deformable DETR sigmoid; else what `classes` implies (one name short of the columns: softmax)."""
    logits = _det_logits(out)
    if logits is None or logits.dim() != 3:
        return activation or 'sigmoid', 1  # _detection explains what is missing
    c = int(logits.shape[-1])
    if activation is None:
        if _is_hf(model):
            activation = 'softmax' if model.config.model_type in ('detr', 'table-transformer') else 'sigmoid'
        elif _field(out, 'pred_logits') is not None:
            activation = 'softmax'
        elif classes is not None and not isinstance(classes, (str, Path)) and len(classes) == c - 1:
            activation = 'softmax'
        else:
            activation = 'sigmoid'
    if activation not in ('softmax', 'sigmoid'):
        raise ValueError(f"activation must be 'softmax' or 'sigmoid', got {activation!r}")
    if activation == 'softmax' and id2label is not None:
        return activation, c - 1 if len(id2label) == c - 1 else c
    if activation == 'softmax':
        named = None if classes is None or isinstance(classes, (str, Path)) else len(classes)
        return activation, c if named == c else c - 1
    return activation, c


def _det_logits(o):
    x = _field(o, 'logits')
    return x if x is not None else _field(o, 'pred_logits')


def _describe(out) -> str:
    if isinstance(out, torch.Tensor):
        return f'a tensor {list(out.shape)}'
    if isinstance(out, Mapping):
        return '{' + ', '.join(f'{k}: {_describe(v)}' for k, v in out.items() if v is not None) + '}'
    if isinstance(out, (tuple, list)):
        return '(' + ', '.join(_describe(v) for v in out) + ')'
    return type(out).__name__


def _vit_outputs(plan: Plan, mats_of, layers, heads, grid, patch, prefix: int, cls_rows: bool, full: bool, how):
    """CLS rows and full matrices from per-layer [1, H, T, T] attention (T = prefix + patches)."""
    has_cls = prefix >= 1
    extra = prefix - 1 if has_cls else prefix
    plan.found.append(
        f'{how}: {len(layers)} layers x {heads} heads over '
        + ('CLS + ' if has_cls else '')
        + (f'{extra} more prefix token(s) (registers / distillation: dropped from the matrices) + ' if extra else '')
        + f'{grid[0]}x{grid[1]} patches of {patch} px'
    )
    outputs = []
    if cls_rows and has_cls:
        outputs.append(kit.cls_attention_output('cls_attention', layers, heads, grid, patch))
        plan.methods.append('vit-pseudo-mask')
    elif cls_rows:
        plan.not_found.append('CLS attention rows: this ViT has no CLS token (only self_attention is exported)')
    if full:
        outputs.append(kit.self_attention_output('self_attention', layers, heads, grid, patch, cls_token=has_cls))

    def collect(o, t):
        mats = mats_of(o, t)
        res = {}
        if cls_rows and has_cls:
            res['cls_attention'] = torch.stack([kit.cls_row(a, prefix) for a in mats], 1)
        if full:
            res['self_attention'] = torch.stack([kit.full_attention(a, prefix, has_cls) for a in mats], 1)
        return res

    plan.add(outputs, collect)


def _square_patch(p) -> int:
    if isinstance(p, (tuple, list)):
        if p[0] != p[1]:
            raise ExportError(f'patches must be square for the contract, got {p}')
        return int(p[0])
    return int(p)


def _find_hf_attention(plan: Plan, model, out, hw, cls_rows, full, detection_grid):
    cfg = model.config
    attentions = _field(out, 'attentions')
    if attentions and getattr(cfg, 'patch_size', None) and not _field(out, 'pred_boxes'):
        patch = _square_patch(cfg.patch_size)
        grid = (hw[0] // patch, hw[1] // patch)
        t = attentions[0].shape[-1]
        n = grid[0] * grid[1]
        if any(a.dim() != 4 or a.shape[-1] != a.shape[-2] for a in attentions) or t < n:
            plan.not_found.append(
                f'attentions {[list(a.shape) for a in attentions]} are not ViT self-attention over {n} patches'
            )
            return
        heads = attentions[0].shape[1]
        _vit_outputs(
            plan,
            lambda o, _t: list(_field(o, 'attentions')),
            list(range(len(attentions))),
            heads,
            grid,
            patch,
            t - n,
            cls_rows,
            full,
            f'Hugging Face {type(model).__name__} self-attention (output_attentions)',
        )
        return
    cross = _field(out, 'cross_attentions')
    if cross and detection_grid is not None:
        grid, stride = detection_grid
        n = grid[0] * grid[1]
        last = cross[-1]
        if last.shape[-1] != n:
            plan.not_found.append(f'decoder cross-attention has {last.shape[-1]} keys, not the {n} of the feature grid')
        else:
            q = last.shape[2]
            plan.found.append(
                f'decoder cross-attention of the last of {len(cross)} layers ({last.shape[1]} heads, mean taken) '
                f'over the {grid[0]}x{grid[1]} feature grid at stride {stride}'
            )
            plan.add(
                [
                    {
                        'name': 'o2o.cross_attention',
                        'role': 'cross_attention',
                        'shape': [1, q, n],
                        'block': 'one_to_one',
                        'grid': list(grid),
                        'stride': stride,
                        'layout': 'batch,query,key',
                        'upsample': 'bilinear_align_corners',
                        'description': "last decoder layer's cross-attention per query (head mean)",
                    }
                ],
                lambda o, _t: {'o2o.cross_attention': _field(o, 'cross_attentions')[-1].mean(1)},
            )
        enc = _field(out, 'encoder_attentions')
        if enc and enc[-1].shape[-1] == n:
            heads = enc[-1].shape[1]
            plan.found.append(f'encoder self-attention of the last of {len(enc)} layers ({heads} heads)')
            plan.add(
                [
                    {
                        'name': 'encoder.attention',
                        'role': 'encoder_attention',
                        'shape': [1, heads, n, n],
                        'grid': list(grid),
                        'stride': stride,
                        'layout': 'batch,head,query,key',
                        'upsample': 'bilinear_align_corners',
                        'description': "last encoder layer's self-attention per head",
                    }
                ],
                lambda o, _t: {'encoder.attention': _field(o, 'encoder_attentions')[-1]},
            )
    elif cross:
        plan.not_found.append('decoder cross-attention: the feature grid it attends over could not be determined')
    elif attentions:
        plan.not_found.append(
            f"{type(model).__name__} returns attentions {[list(a.shape) for a in attentions][:4]}, not a ViT's "
            f"self-attention over CLS + patches (no config.patch_size, or keys reduced as SegFormer's are): "
            f'no contract role fits them, not exported'
        )


def _find_timm_vit(plan: Plan, model, cls_rows, full) -> bool:
    attn = [m for m in model.modules() if hasattr(m, 'fused_attn') and hasattr(m, 'attn_drop')]
    if not attn or not hasattr(model, 'patch_embed'):
        return False
    has_cls = getattr(model, 'cls_token', None) is not None
    a = kit.timm_vit_attention(model, cls_rows=cls_rows and has_cls, full=full)
    prefix = getattr(model, 'num_prefix_tokens', 1)
    o = a.outputs[0]
    plan.found.append(
        f'timm {type(model).__name__}: {len(attn)} attention blocks x {attn[0].num_heads} heads, grid '
        f'{o["grid"][0]}x{o["grid"][1]} of {o["patch"]} px'
        + (f', {prefix - 1} register tokens dropped from the matrices' if prefix > 1 else '')
    )
    if cls_rows and has_cls:
        plan.methods.append('vit-pseudo-mask')
    plan.add(a.outputs, lambda _o, t: a.collect(t), a.taps)
    return True


def _torchvision_vit(model) -> bool:
    return (
        type(model).__name__ == 'VisionTransformer'
        and hasattr(model, 'class_token')
        and hasattr(model, 'encoder')
        and hasattr(model.encoder, 'layers')
    )


def _find_torchvision_vit(plan: Plan, model, hw, probes: dict, cls_rows, full) -> None:
    layers = [blk.self_attention for blk in model.encoder.layers]
    patch = int(model.patch_size)
    grid = (hw[0] // patch, hw[1] // patch)
    heads = layers[0].num_heads
    names = [f'tv.attn{i}' for i in range(len(layers))]
    taps = {n: kit.Tap(probes[m]) for n, m in zip(names, layers)}
    plan.add([], lambda _o, _t: {}, taps)
    _vit_outputs(
        plan,
        lambda _o, t: [t[n] for n in names],
        list(range(len(layers))),
        heads,
        grid,
        patch,
        1,
        cls_rows,
        full,
        'torchvision VisionTransformer (nn.MultiheadAttention made to return per-head weights)',
    )


# ---- gates


def _gate_tensor_module(m: nn.Module) -> nn.Module:
    """The module whose output is the gate itself: timm puts it in `.gate`; the zoo's gate modules return it."""
    gate = getattr(m, 'gate', None)
    return gate if isinstance(gate, nn.Module) else m


def cbam_candidates(model: nn.Module) -> list[tuple[str, nn.Module, nn.Module, nn.Module]]:
    """(path, module, channel-gate module, spatial-gate module) for every CBAM-style module: one with a child
    named like 'channel…' and one named like 'spatial…' (timm's CbamModule / LightCbamModule, the zoo's CBAM)."""
    found = []
    for path, m in model.named_modules():
        kids = dict(m.named_children())
        ch = next((c for n, c in kids.items() if n.startswith('channel')), None)
        sp = next((c for n, c in kids.items() if n.startswith('spatial')), None)
        if ch is not None and sp is not None:
            found.append((path, m, _gate_tensor_module(ch), _gate_tensor_module(sp)))
    return found


def se_candidates(model: nn.Module) -> list[tuple[str, nn.Module, nn.Module]]:
    """(path, SE module, gate module) for squeeze-and-excitation blocks: torchvision's SqueezeExcitation (gate:
    scale_activation), timm's SEModule / EffectiveSEModule / SqueezeExcite (gate: `gate`)."""
    found = []
    for path, m in model.named_modules():
        name = type(m).__name__
        if name == 'SqueezeExcitation' and isinstance(getattr(m, 'scale_activation', None), nn.Module):
            found.append((path, m, m.scale_activation))
        elif name in ('SEModule', 'EffectiveSEModule', 'SqueezeExcite') and isinstance(
            getattr(m, 'gate', None), nn.Module
        ):
            found.append((path, m, m.gate))
    return found


def _shapes_of(model: nn.Module, x: torch.Tensor, modules: dict[str, nn.Module]) -> tuple[Any, dict[str, list[int]]]:
    """Run the model once (eagerly) and record each module's first output shape; returns (output, shapes)."""
    shapes: dict[str, list[int]] = {}
    handles = []
    for key, m in modules.items():

        def hook(_m, _i, o, key=key):
            if key not in shapes and isinstance(o, torch.Tensor):
                shapes[key] = list(o.shape)

        handles.append(m.register_forward_hook(hook))
    try:
        with torch.no_grad():
            out = model(x)
    finally:
        for h in handles:
            h.remove()
    return out, shapes


def _flat_channel(g: torch.Tensor) -> torch.Tensor:
    return g.flatten(1)


def _find_gates(plan: Plan, cbams, ses, shapes, hw, channel_gates: bool) -> None:
    in_cbam = set()
    for path, m, ch, sp in cbams:
        key = _site_name(path)
        cs, ss, rs = shapes.get(f'cbam.{path}.c'), shapes.get(f'cbam.{path}.s'), shapes.get(f'cbam.{path}.r')
        if not cs or not ss or len(ss) != 4 or ss[1] != 1 or cs[0] != 1 or any(d != 1 for d in cs[2:]):
            plan.not_found.append(
                f'CBAM-like module {path or "(root)"} ({type(m).__name__}): gate shapes {cs} / {ss} are not '
                f'[1, C(,1,1)] and [1, 1, h, w]'
            )
            continue
        c, (h, w) = cs[1], ss[2:]
        stride, problem = grid_stride((h, w), hw)
        if problem:
            plan.not_found.append(f'CBAM site {path}: {problem}')
            continue
        refined = rs is not None and rs == [1, c, h, w]
        outs = kit.cbam_site_outputs(key, c, (h, w), stride, refined=refined)
        taps = {outs[0]['name']: kit.Tap(ch, _flat_channel), outs[1]['name']: kit.Tap(sp)}
        if refined:
            taps[outs[2]['name']] = kit.Tap(m)
        names = [o['name'] for o in outs]
        plan.add(outs, lambda _o, t, names=names: {n: t[n] for n in names}, taps)
        plan.found.append(
            f'CBAM site {key} ({type(m).__name__}): {c} channels, spatial gate {h}x{w} at stride {stride}'
        )
        in_cbam.update(id(x) for x in (m, ch, sp))
    if cbams and plan.outputs:
        plan.methods.append('attnfd')
    ses = [s for s in ses if id(s[1]) not in in_cbam]
    if not ses:
        return
    if not channel_gates:
        plan.not_found.append(
            f'{len(ses)} squeeze-and-excitation (channel-only) gates, e.g. {ses[0][0]}: not exported '
            f'(channel_gates=False)'
        )
        return
    for path, m, gate in ses:
        key = _site_name(path)
        gs = shapes.get(f'se.{path}')
        if not gs or gs[0] != 1 or any(d != 1 for d in gs[2:]):
            plan.not_found.append(f'squeeze-and-excitation {path}: gate shape {gs} is not [1, C, 1, 1]')
            continue
        name = f'se.{key}'
        plan.add(
            [
                {
                    'name': name,
                    'role': 'channel_gate',
                    'site': key,
                    'shape': [1, gs[1]],
                    'description': f'{type(m).__name__} gate after its {type(gate).__name__}',
                }
            ],
            lambda _o, t, name=name: {name: t[name]},
            {name: kit.Tap(gate, _flat_channel)},
        )
    plan.found.append(f'{len(ses)} squeeze-and-excitation channel gates ({type(ses[0][1]).__name__}, e.g. {ses[0][0]})')


# ---------------------------------------------------------------- the entry point


def _detr_grid(model, x, hw) -> tuple[tuple[int, int], int] | None:
    """The feature grid a HF DETR's encoder and decoder attend over: the input projection's output size."""
    proj = getattr(getattr(model, 'model', None), 'input_projection', None)
    if not isinstance(proj, nn.Module):
        return None
    _, shapes = _shapes_of(model, x, {'p': proj})
    if 'p' not in shapes:
        return None
    h, w = shapes['p'][2:]
    stride, problem = grid_stride((h, w), hw)
    if problem:
        raise ExportError(f"the detector's feature grid: {problem}")
    return (h, w), stride


def grid_stride(grid: tuple[int, int], hw: tuple[int, int]) -> tuple[int, str]:
    """The stride of a feature map over the input, or why the contract cannot state one. A map h×w covers an
    H×W input at stride s when s·h = H and s·w = W; convolution strides are powers of two, so a map of ceil(H/32)
    cells over an input that is not a multiple of 32 (120 px → 4 cells, not 30 px each) is refused with the size
    to export at instead."""
    (h, w), (H, W) = grid, hw
    s = H / h
    if H % h == 0 and W % w == 0 and H // h == W // w and s >= 1 and (int(s) & (int(s) - 1)) == 0:
        return int(s), ''
    p = 2 ** max(0, round(np.log2(max(H / h, 1))))
    return 0, (
        f'a {h}x{w} map over the {H}x{W} input is not a whole power-of-two stride (the backbone stride is probably {p}): '
        f'export at a multiple of it, e.g. {-(-H // p) * p}x{-(-W // p) * p}'
    )


def _normalisation(model, mean, std) -> tuple[tuple, tuple, str]:
    if mean is not None and std is not None:
        return tuple(mean), tuple(std), 'mean=/std= (yours)'
    cfg = getattr(model, 'pretrained_cfg', None)  # timm
    if isinstance(cfg, Mapping) and 'mean' in cfg and 'std' in cfg:
        return tuple(mean or cfg['mean']), tuple(std or cfg['std']), "timm's pretrained_cfg"
    if _is_hf(model) and model.config.model_type == 'vit':
        return tuple(mean or (0.5,) * 3), tuple(std or (0.5,) * 3), 'assumed 0.5/0.5 (ViTImageProcessor default)'
    return tuple(mean or IMAGENET_MEAN), tuple(std or IMAGENET_STD), 'assumed ImageNet mean/std'


def export(
    model: nn.Module,
    example_input: torch.Tensor,
    path: str | Path,
    *,
    task: str,
    role: str,
    model_id: str,
    classes=None,
    name: str | None = None,
    family: str | None = None,
    description: str = '',
    teachers: Sequence[str] | None = None,
    input_name: str = 'image',
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    scale: float = 255.0,
    resize: str = 'stretch',
    multilabel: bool | None = None,
    activation: str | None = None,
    score_threshold: float | None = None,
    attention: bool = True,
    cls_rows: bool = True,
    full_attention: bool = True,
    gates: bool = True,
    channel_gates: bool = True,
    check: bool = True,
    atol: float = 1e-4,
    rtol: float = 1e-3,
    opset: int = kit.OPSET,
    verbose: bool = True,
) -> ExportReport:
    """Find what AttnLens can show in `model`, export it to `path` as ONNX with an embedded contract, validate it,
    check onnxruntime against PyTorch, print what was found and what was not (verbose) and return the report.

    `example_input` is [1, 3, H, W]: the export is for that size. `task` is segmentation, detection,
    classification or features; `role` teacher or student; `model_id` [a-z0-9._-]. `classes` names the model's
    class ids (its output channels / columns): a list of names, a list of {id, name, color}, a mapping
    {id: name} or a JSON file of one of these; by default a Hugging Face model's config.id2label, else class_<i>.
    The rest override what the kit would choose: normalisation (`mean`, `std`, `scale`: the app feeds
    ((pixel / scale) − mean) / std), `multilabel` (sigmoid class logits), a detector's `activation`
    ('softmax' / 'sigmoid') and `score_threshold`, which outputs to find (`attention`, `cls_rows`,
    `full_attention`, `gates`, `channel_gates`), and the parity tolerance (`atol`, `rtol`)."""
    t0 = time.perf_counter()
    if task not in TASKS:
        raise ValueError(f'task must be one of {TASKS}, got {task!r}')
    x = example_input
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[0] != 1 or x.shape[1] != 3:
        raise ValueError(f'example_input must be a [1, 3, H, W] tensor, got {getattr(x, "shape", type(x))}')
    x = x.float()
    hw = (int(x.shape[2]), int(x.shape[3]))
    path = Path(path)
    model = model.eval()
    plan = Plan()
    hf = _is_hf(model)

    with torch.no_grad():
        reference = model(x)  # the untouched model's answer: the export must not change it

    tv_vit = attention and _torchvision_vit(model)
    mhas = [blk.self_attention for blk in model.encoder.layers] if tv_vit else []
    timm_attn = (
        [m for m in model.modules() if hasattr(m, 'fused_attn') and hasattr(m, 'attn_drop')] if attention else []
    )
    with ExitStack() as stack:
        # The tracer's warnings (shape-dependent Python branches) are expected for a fixed-size export; the parity
        # check below is what says the graph is right.
        stack.enter_context(warnings.catch_warnings())
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        if hf:
            stack.enter_context(_hf_output_attentions(model))
            frozen = stack.enter_context(_frozen_position_encodings(model))
        else:
            frozen = []
        probes = dict(zip(mhas, stack.enter_context(per_head_mha_weights(mhas))))
        stack.enter_context(_timm_explicit(timm_attn))

        cbams = cbam_candidates(model) if gates else []
        ses = se_candidates(model) if gates else []
        watch: dict[str, nn.Module] = {}
        for p, m, ch, sp in cbams:
            watch.update({f'cbam.{p}.c': ch, f'cbam.{p}.s': sp, f'cbam.{p}.r': m})
        for p, _m, g in ses:
            watch[f'se.{p}'] = g
        out, shapes = _shapes_of(model, x, watch)  # eager: also fills the frozen position embeddings
        if frozen:
            plan.found.append(f'froze the position-embedding interpolation of {", ".join(frozen)} at this input size')

        # the task head
        cfg = getattr(model, 'config', None)
        id2label = getattr(cfg, 'id2label', None) if hf else None
        if task == 'detection':
            activation, count = _detector_head(model, out, classes, id2label, activation)
        else:
            main, _ = _main_output(out)
            rank = {'segmentation': 4, 'classification': 2}.get(task)
            count = int(main.shape[1]) if main is not None and main.dim() == rank else 1
        if task == 'classification' and multilabel is None:
            multilabel = getattr(cfg, 'problem_type', None) == 'multi_label_classification'
        names_, colours, class_source = class_table(
            classes, count, model_labels=id2label if task != 'features' else None, background=task == 'segmentation'
        )
        if task == 'segmentation':
            _segmentation(plan, out, hw, count)
        elif task == 'classification':
            _classification(plan, out, count, bool(multilabel))
        elif task == 'detection':
            _detection(plan, out, list(range(count)), activation, score_threshold)
        if task == 'features':
            plan.found.append('a features model: no class head (its one class is a placeholder; classes= names it)')
        else:
            plan.found.append(f'{len(names_)} classes from {class_source}')

        # attention
        if attention:
            if hf:
                grid = _detr_grid(model, x, hw) if task == 'detection' else None
                _find_hf_attention(plan, model, out, hw, cls_rows, full_attention, grid)
            elif tv_vit:
                _find_torchvision_vit(plan, model, hw, probes, cls_rows, full_attention)
            elif not _find_timm_vit(plan, model, cls_rows, full_attention):
                pass
            stray = [n for n, m in model.named_modules() if isinstance(m, nn.MultiheadAttention) and m not in probes]
            if stray:
                plan.not_found.append(
                    f'{len(stray)} nn.MultiheadAttention module(s) outside a recognised ViT ({", ".join(stray[:3])}'
                    f'{"…" if len(stray) > 3 else ""}): their tokens are not known to be CLS + patches, so they are not '
                    f'exported; tap them with per_head_mha_weights (docs/export/torchvision.md)'
                )
            if not any(o['role'] in ('cls_attention', 'self_attention', 'cross_attention') for o in plan.outputs):
                plan.not_found.append('no attention the kit recognises (see docs/export/ for what it looks for)')
        if gates:
            _find_gates(plan, cbams, ses, shapes, hw, channel_gates)
            if not cbams and not ses:
                plan.not_found.append('no CBAM or squeeze-and-excitation gates')
        if not plan.outputs:
            raise ExportError('nothing to export: ' + '; '.join(plan.not_found))

        mean_, std_, norm_source = _normalisation(model, mean, std)
        plan.found.append(f'normalisation: mean {list(mean_)}, std {list(std_)}, scale {scale} ({norm_source})')
        fam = family or ('hf-' + cfg.model_type.replace('_', '-') if hf else _site_name(type(model).__name__).lower())
        contract = kit.make_contract(
            model_id=model_id,
            name=name or model_id,
            task=task,
            role=role,
            family=fam,
            input_name=input_name,
            input_hw=hw,
            mean=mean_,
            std=std_,
            class_names=names_,
            class_colors=colours,
            outputs=plan.outputs,
            methods=sorted(set(plan.methods)) or None,
            teachers=list(teachers) if teachers else None,
            description=description,
            scale=scale,
            resize=resize,
        )
        kit.export_with_contract(model, x, contract, path, plan.collect, plan.taps, opset=opset)

        diffs: dict[str, float] = {}
        if check:
            diffs = _parity(model, x, contract, plan, path, reference, atol, rtol)

    report = ExportReport(
        path=path,
        contract=contract,
        found=plan.found,
        not_found=plan.not_found,
        max_abs_diff=diffs,
        seconds=time.perf_counter() - t0,
        bytes=path.stat().st_size,
    )
    if verbose:
        print(report)
    return report


def _parity(model, x, contract, plan: Plan, path: Path, reference, atol, rtol) -> dict[str, float]:
    """onnxruntime's outputs against PyTorch's, on the example and on a random input; the task output also
    against the untouched model (the kit's patches must not change what the model computes)."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    gen = torch.Generator().manual_seed(0)
    inputs = [x, torch.randn(x.shape, generator=gen)]
    diffs: dict[str, float] = {}
    problems = []
    for i, xi in enumerate(inputs):
        want = kit.torch_outputs(model, xi, contract, plan.collect, plan.taps)
        got = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {contract['input']['name']: xi.numpy()})))
        for n, t in want.items():
            ref = t.numpy()
            d = float(np.abs(got[n] - ref).max()) if ref.size else 0.0
            diffs[n] = max(diffs.get(n, 0.0), d)
            if not np.allclose(got[n], ref, atol=atol, rtol=rtol):
                problems.append(f'{n} on input {i}: max |diff| {d:.2e}')
    # the untouched model: its head output equals the exported one
    untouched = {}
    main = _pick_main(reference) if _det_logits(reference) is None or contract['model']['task'] != 'detection' else None
    for o in contract['outputs']:
        if o['role'] in ('segmentation_logits',) and main is not None and list(main.shape) == o['shape']:
            untouched[o['name']] = main
        elif o['role'] in ('class_logits', 'multilabel_logits') and main is not None:
            untouched[o['name']] = main
        elif o['role'] == 'box_logits':
            untouched[o['name']] = _det_logits(reference)
        elif o['role'] == 'boxes':
            untouched[o['name']] = _field(reference, 'pred_boxes')
    got = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {contract['input']['name']: x.numpy()})))
    for n, t in untouched.items():
        if not np.allclose(got[n], t.numpy(), atol=atol, rtol=rtol):
            problems.append(f'{n} differs from the untouched model by {float(np.abs(got[n] - t.numpy()).max()):.2e}')
    if problems:
        raise ExportError('onnxruntime does not reproduce PyTorch: ' + '; '.join(problems) + f' ({path} kept)')
    return diffs
