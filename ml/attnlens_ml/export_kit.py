"""AttnLens export kit: turn your own PyTorch model into an ONNX file that AttnLens can read.

    from attnlens_ml.export_kit import Tap, export_with_contract, cbam_site_outputs, make_contract
    taps = {"b.channel": Tap(model.cbam.channel_gate), "b.spatial": Tap(model.cbam.spatial_gate)}
    contract = make_contract(model_id="my-seg", ..., outputs=[{...}, *cbam_site_outputs(...)])
    export_with_contract(model, torch.zeros(1, 3, 160, 160), contract, "my-seg.onnx",
                         outputs=lambda out, taps: {"seg_logits": out, **taps}, taps=taps)

    # a DETR: query blocks, and the recommended score threshold (contract 1.3) chosen on validation data
    outputs = [*detection_block_outputs("o2o", "one_to_one", 100, labels), ...]
    contract = make_contract(model_id="my-detr", task="detection", ..., outputs=outputs, score_threshold=0.3)
    # (or after export: embed_score_threshold("my-detr.onnx", 0.3); choose it with attnlens_ml.thresholds)

    # a timm ViT: CLS rows and every layer's full attention (for rollout) in three lines
    attn = timm_vit_attention(vit)
    contract = make_contract(model_id="my-vit", ..., outputs=[{...logits...}, *attn.outputs])
    export_with_contract(vit, x, contract, "my-vit.onnx", lambda out, t: {"logits": out, **attn.collect(t)}, attn.taps)

What it does: forward hooks copy the tensors you name (gates, attention weights...) out of the module tree
while the exporter traces, so they become named graph outputs without editing the model; the contract is
validated (schema, semantic rules, and against the exported graph) and stored in metadata_props under
'attnlens.contract'. Export fails loudly with the contract's error list rather than write a file the app
would reject. Then the graph's batch axis is opened (batch_axis.open_batch_axis), so AttnLens can feed
several images a run over a data set; that is kept only where one run on 3 images equals 3 runs on one
(onnxruntime), else the file stays at batch 1 and a line says so. See docs/contract.md.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import onnx
import torch
from torch import nn

from .contract import ContractError, check_against_graph, read_contract, validate_contract, write_contract

OPSET = 17
# The spec version the kit implements. 1.1: detection, encoder-attention and SAK roles; 1.2: ViT self_attention;
# 1.3: a detector's recommended score_threshold; 1.4: channel-only gates (channel_gate, squeeze-and-excitation)
# (docs/contract.md). A document is stamped with the lowest version that has every field and role it uses, floor
# 1.2 (contract_version), so older readers keep reading what they can.
CONTRACT_VERSION = '1.4'
BASE_VERSION = '1.2'


@dataclass
class Tap:
    """Capture a module's output (or first input) during forward; `transform` reshapes it (e.g. CLS row)."""

    module: nn.Module
    transform: Callable[[torch.Tensor], torch.Tensor] | None = None
    use_input: bool = False


class ContractViolation(RuntimeError):
    def __init__(self, errors: list[ContractError]):
        super().__init__('contract check failed:\n' + '\n'.join(f'  {e}' for e in errors))
        self.errors = errors


class TapWrapper(nn.Module):
    """Runs `model`, collects taps through forward hooks, returns outputs in the contract's order."""

    def __init__(
        self,
        model: nn.Module,
        names: list[str],
        taps: dict[str, Tap],
        outputs: Callable[[object, dict[str, torch.Tensor]], dict[str, torch.Tensor]],
    ):
        super().__init__()
        self.model = model
        self.names = names
        self.taps = taps
        self.outputs = outputs

    def forward(self, x):
        captured: dict[str, torch.Tensor] = {}
        handles = []
        for name, tap in self.taps.items():

            def hook(_m, inputs, output, name=name, tap=tap):
                t = inputs[0] if tap.use_input else output
                # A module called more than once (a shared gate) keeps its first call: deterministic.
                # Returns None: a forward hook that returns a value would replace the module's output.
                if name not in captured:
                    captured[name] = tap.transform(t) if tap.transform else t

            handles.append(tap.module.register_forward_hook(hook))
        try:
            out = self.model(x)
        finally:
            for h in handles:
                h.remove()
        missing = [n for n in self.taps if n not in captured]
        if missing:
            raise RuntimeError(f'taps never fired (module not called in forward): {missing}')
        named = self.outputs(out, captured)
        absent = [n for n in self.names if n not in named]
        if absent:
            raise KeyError(f'outputs() did not produce contract outputs {absent}; it produced {sorted(named)}')
        return tuple(named[n] for n in self.names)


def torch_outputs(
    model: nn.Module,
    x: torch.Tensor,
    contract: dict,
    outputs: Callable[[object, dict[str, torch.Tensor]], dict[str, torch.Tensor]],
    taps: dict[str, Tap] | None = None,
) -> dict[str, torch.Tensor]:
    """What the exported graph should return for `x`, computed in PyTorch (for parity checks)."""
    names = [o['name'] for o in contract['outputs']]
    with torch.no_grad():
        return dict(zip(names, TapWrapper(model.eval(), names, taps or {}, outputs)(x)))


def export_with_contract(
    model: nn.Module,
    example: torch.Tensor,
    contract: dict,
    path: str | Path,
    outputs: Callable[[object, dict[str, torch.Tensor]], dict[str, torch.Tensor]],
    taps: dict[str, Tap] | None = None,
    opset: int = OPSET,
    open_batch: bool = True,
) -> onnx.ModelProto:
    """Export `model` at the fixed size of `example`, with every contract output named; validate; embed;
    then (`open_batch`) open its batch axis where batched runs equal image-by-image runs."""
    errors = validate_contract(contract)
    if errors:
        raise ContractViolation(errors)
    names = [o['name'] for o in contract['outputs']]
    wrapper = TapWrapper(model.eval(), names, taps or {}, outputs).eval()
    path = Path(path)
    with torch.no_grad():
        torch.onnx.export(
            wrapper,
            (example,),
            str(path),
            input_names=[contract['input']['name']],
            output_names=names,
            opset_version=opset,
            do_constant_folding=True,
        )
    proto = onnx.load(str(path))
    errors = check_against_graph(contract, proto)
    if errors:
        raise ContractViolation(errors)
    write_contract(proto, contract)
    onnx.checker.check_model(proto)
    if open_batch and example.shape[0] == 1:
        proto = _with_open_batch(proto, path)
    onnx.save(proto, str(path))
    return proto


def _with_open_batch(proto: onnx.ModelProto, path: Path) -> onnx.ModelProto:
    from .batch_axis import batch_parity, open_batch_axis

    try:
        batched, _ = open_batch_axis(proto)
        worst = batch_parity(proto, batched, 3)
    except Exception as e:  # a graph the rewrite does not handle: batch 1 works as before
        # on stderr: a note beside the export, never mixed into what a caller reads from stdout (--json)
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f'[export] {path.name}: batch axis left at 1 ({first})', file=sys.stderr)
        return proto
    if worst <= 1e-4 * max(1.0, _output_scale(proto)):
        return batched
    print(
        f'[export] {path.name}: batch axis left at 1 (3 images in one run differ from one by one by {worst:g})',
        file=sys.stderr,
    )
    return proto


def _output_scale(proto: onnx.ModelProto) -> float:
    """Largest absolute output value on one random image: parity is judged relative to it."""
    import numpy as np
    import onnxruntime as ort

    sess = ort.InferenceSession(proto.SerializeToString(), providers=['CPUExecutionProvider'])
    inp = sess.get_inputs()[0]
    x = np.random.default_rng(0).random([1, *[int(d) for d in inp.shape[1:]]], dtype=np.float32)
    if inp.type == 'tensor(float16)':
        x = x.astype(np.float16)
    return max(float(np.abs(o.astype(np.float64)).max(initial=0)) for o in sess.run(None, {inp.name: x}))


# ---- contract builders: the common pieces, so hand-written contracts do not drift from the spec ----


def contract_version(contract: dict) -> str:
    """The lowest spec version whose fields the document uses (floor BASE_VERSION)."""
    if any(o['role'] == 'channel_gate' for o in contract['outputs']):
        return '1.4'
    if any('score_threshold' in o for o in contract['outputs']):
        return '1.3'
    return BASE_VERSION


def _max_version(a: str, b: str) -> str:
    return max(a, b, key=lambda v: tuple(int(x) for x in v.split('.')))


def make_contract(
    *,
    model_id: str,
    name: str,
    task: str,
    role: str,
    family: str,
    input_name: str,
    input_hw: tuple[int, int],
    mean,
    std,
    class_names: list[str],
    class_colors: list[str],
    outputs: list[dict],
    methods: list[str] | None = None,
    teachers: list[str] | None = None,
    description: str = '',
    scale: float = 255.0,
    resize: str = 'stretch',
    letterbox_fill: tuple[int, int, int] | None = None,
    score_threshold: float | None = None,
) -> dict:
    """A contract document. `methods` is informational (the app derives its views from the outputs).
    `score_threshold` (detectors, 1.3): the recommended score threshold, stored on the one_to_one block's
    box_logits output — choose it on validation data, e.g. with attnlens_ml.thresholds.choose_threshold."""
    model = {'id': model_id, 'name': name, 'task': task, 'role': role, 'family': family}
    if methods:
        model['methods'] = methods
    if teachers:
        model['teachers'] = teachers
    if description:
        model['description'] = description
    inp = {
        'name': input_name,
        'shape': [1, 3, input_hw[0], input_hw[1]],
        'layout': 'NCHW',
        'dtype': 'float32',
        'color': 'RGB',
        'scale': scale,
        'mean': list(mean),
        'std': list(std),
        'resize': resize,
    }
    if letterbox_fill is not None:
        inp['letterbox_fill'] = list(letterbox_fill)
    contract = {
        'format': 'attnlens-contract',
        'version': BASE_VERSION,
        'model': model,
        'input': inp,
        'classes': [{'id': i, 'name': n, 'color': c} for i, (n, c) in enumerate(zip(class_names, class_colors))],
        'outputs': outputs,
    }
    if score_threshold is not None:
        set_score_threshold(contract, score_threshold)
    contract['version'] = contract_version(contract)
    return contract


def detection_block_outputs(
    prefix: str,
    block: str,
    queries: int,
    labels: list[int],
    *,
    activation: str = 'sigmoid',
    box_format: str = 'cxcywh_normalized',
    k: int | None = None,
    score_threshold: float | None = None,
) -> list[dict]:
    """Contract entries of one DETR query block: `<prefix>.logits` (box_logits [1, Q, C]) and `<prefix>.boxes`
    ([1, Q, 4]). A one_to_many block needs `k`; `score_threshold` (1.3) belongs to the one_to_one block."""
    extra = {'k': k} if k is not None else {}
    logits = {
        'name': f'{prefix}.logits',
        'role': 'box_logits',
        'shape': [1, queries, len(labels)],
        'block': block,
        'labels': list(labels),
        'activation': activation,
        **extra,
    }
    if score_threshold is not None:
        logits['score_threshold'] = float(score_threshold)
    return [
        logits,
        {
            'name': f'{prefix}.boxes',
            'role': 'boxes',
            'shape': [1, queries, 4],
            'block': block,
            'box_format': box_format,
            **extra,
        },
    ]


def set_score_threshold(contract: dict, value: float) -> dict:
    """Store a detector's recommended score threshold (1.3) on its one_to_one box_logits; bumps the version."""
    if not 0.0 <= value <= 1.0:
        raise ValueError(f'score_threshold must lie in [0, 1], got {value}')
    targets = [o for o in contract['outputs'] if o['role'] == 'box_logits' and o.get('block') == 'one_to_one']
    if not targets:
        raise ValueError('the contract has no one_to_one box_logits output to carry a score_threshold')
    for o in targets:
        o['score_threshold'] = float(value)
    contract['version'] = _max_version(contract['version'], '1.3')
    return contract


def embed_score_threshold(path: str | Path, value: float, out: str | Path | None = None) -> dict:
    """Write a recommended score threshold into an exported detector's embedded contract (metadata only: the
    graph and its weights are untouched). Validates the result; returns the new contract."""
    proto = onnx.load(str(path))
    contract = read_contract(proto)
    if contract is None:
        raise ValueError(f'{path} has no embedded AttnLens contract')
    set_score_threshold(contract, value)
    errors = validate_contract(contract) or check_against_graph(contract, proto)
    if errors:
        raise ContractViolation(errors)
    write_contract(proto, contract)
    onnx.save(proto, str(out or path))
    return contract


def cbam_site_outputs(
    site: str, channels: int, hw: tuple[int, int], stride: int, prefix: str = 'cbam', refined: bool = True
) -> list[dict]:
    h, w = hw
    outs = [
        {
            'name': f'{prefix}.{site}.channel',
            'role': 'cbam_channel_gate',
            'site': site,
            'shape': [1, channels],
            'description': 'sigmoid channel gate (avg+max pooled MLP)',
        },
        {
            'name': f'{prefix}.{site}.spatial',
            'role': 'cbam_spatial_gate',
            'site': site,
            'shape': [1, 1, h, w],
            'stride': stride,
            'upsample': 'bilinear_align_corners',
            'description': 'sigmoid spatial gate (7x7 conv)',
        },
    ]
    if refined:
        outs.append(
            {
                'name': f'{prefix}.{site}.refined',
                'role': 'cbam_refined',
                'site': site,
                'shape': [1, channels, h, w],
                'stride': stride,
                'upsample': 'bilinear_align_corners',
                'description': "features after both gates (what AttnFD's loss compares)",
            }
        )
    return outs


def explicit_timm_attention(model: nn.Module) -> list[nn.Module]:
    """Make timm ViT blocks compute softmax(qkᵀ/√d) explicitly (fused SDPA never materialises weights).

    Returns each block's `attn_drop` module, whose *input* is the [B, heads, N, N] attention matrix: tap it.
    """
    found = []
    for m in model.modules():
        if hasattr(m, 'fused_attn') and hasattr(m, 'attn_drop'):
            m.fused_attn = False
            found.append(m.attn_drop)
    if not found:
        raise ValueError('no timm Attention modules (with fused_attn and attn_drop) found in this model')
    return found


def cls_row(attn: torch.Tensor, prefix_tokens: int = 1) -> torch.Tensor:
    """[B, H, N, N] → the CLS query's row over patch keys [B, H, N − prefix_tokens]."""
    return attn[:, :, 0, prefix_tokens:]


def full_attention(attn: torch.Tensor, prefix_tokens: int = 1, cls_token: bool = True) -> torch.Tensor:
    """[B, H, T, T] → the matrix over the contract's tokens: CLS (when the model has one) then the patches.

    Other prefix tokens (timm's register tokens sit between CLS and the patches) are dropped from both axes,
    as `self_attention` requires (docs/contract.md); without them the matrix is returned as it is.
    """
    lead = 1 if cls_token else 0
    if prefix_tokens == lead:
        return attn
    if not cls_token:
        return attn[:, :, prefix_tokens:, prefix_tokens:]
    rows = torch.cat([attn[:, :, :1], attn[:, :, prefix_tokens:]], 2)
    return torch.cat([rows[:, :, :, :1], rows[:, :, :, prefix_tokens:]], 3)


def cls_attention_output(
    name: str,
    layers: list[int],
    heads: int,
    grid: tuple[int, int],
    patch: int,
    keys: str = 'patches',
    upsample: str = 'nearest',
    description: str = '',
) -> dict:
    """Contract entry for CLS attention rows [1, L, H, N] (N = rows·cols, + 1 with keys='all_tokens')."""
    n = grid[0] * grid[1] + (1 if keys == 'all_tokens' else 0)
    return {
        'name': name,
        'role': 'cls_attention',
        'shape': [1, len(layers), heads, n],
        'layout': 'batch,layer,head,key',
        'layers': list(layers),
        'grid': list(grid),
        'patch': patch,
        'cls_token': 'leads',
        'keys': keys,
        'upsample': upsample,
        'description': description or 'softmax attention of the CLS query over patch keys, per layer and head',
    }


def self_attention_output(
    name: str,
    layers: list[int],
    heads: int,
    grid: tuple[int, int],
    patch: int,
    cls_token: bool = True,
    upsample: str = 'nearest',
    description: str = '',
) -> dict:
    """Contract entry for full self-attention [1, L, H, T, T] (contract 1.2): T = rows·cols (+ 1 for CLS)."""
    t = grid[0] * grid[1] + (1 if cls_token else 0)
    order = 'token 0 is CLS, then the patches row-major' if cls_token else 'the patches row-major'
    return {
        'name': name,
        'role': 'self_attention',
        'shape': [1, len(layers), heads, t, t],
        'layout': 'batch,layer,head,query,key',
        'layers': list(layers),
        'grid': list(grid),
        'patch': patch,
        'cls_token': 'leads' if cls_token else 'none',
        'upsample': upsample,
        'description': description or f"softmax self-attention of every layer and head ({order}): rollout's input",
    }


@dataclass
class AttentionExport:
    """What `timm_vit_attention` hands you: taps for export_with_contract, contract outputs, and
    collect(tapped) → {output name: tensor} to merge into your outputs function."""

    taps: dict[str, Tap]
    outputs: list[dict]
    collect: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]] = field(repr=False)


def timm_vit_attention(
    model: nn.Module,
    *,
    cls_rows: bool = True,
    full: bool = True,
    cls_name: str = 'cls_attention',
    full_name: str = 'self_attention',
    upsample: str = 'nearest',
) -> AttentionExport:
    """Every block's attention of a timm VisionTransformer as contract outputs: the CLS rows
    (`cls_attention`, [1, L, H, N]) and/or the full matrices (`self_attention`, [1, L, H, T, T], what
    attention rollout needs). Reads heads, grid, patch and prefix tokens from the model; makes the
    attention explicit (explicit_timm_attention). The model's code and outputs are untouched."""
    if not (cls_rows or full):
        raise ValueError('ask for cls_rows, full or both')
    drops = explicit_timm_attention(model)
    attn_modules = [m for m in model.modules() if hasattr(m, 'fused_attn') and hasattr(m, 'attn_drop')]
    heads = {m.num_heads for m in attn_modules}
    pe = model.patch_embed
    if len(heads) != 1 or pe.patch_size[0] != pe.patch_size[1]:
        raise ValueError(f'need one head count and square patches, got heads {heads}, patch {pe.patch_size}')
    (h,), grid, patch = heads, tuple(pe.grid_size), pe.patch_size[0]
    prefix = getattr(model, 'num_prefix_tokens', 1)
    has_cls = getattr(model, 'cls_token', None) is not None
    if cls_rows and not has_cls:
        raise ValueError('this ViT has no CLS token, so it has no CLS attention rows: use cls_rows=False')
    layers = list(range(len(drops)))
    taps = {f'timm.attn{i}': Tap(d, use_input=True) for i, d in enumerate(drops)}
    outputs = []
    if cls_rows:
        outputs.append(cls_attention_output(cls_name, layers, h, grid, patch, upsample=upsample))
    if full:
        outputs.append(self_attention_output(full_name, layers, h, grid, patch, cls_token=has_cls, upsample=upsample))

    def collect(tapped: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        mats = [tapped[f'timm.attn{i}'] for i in layers]
        res = {}
        if cls_rows:
            res[cls_name] = torch.stack([cls_row(a, prefix) for a in mats], 1)
        if full:
            res[full_name] = torch.stack([full_attention(a, prefix, has_cls) for a in mats], 1)
        return res

    return AttentionExport(taps, outputs, collect)


# The one entry point that finds what to export lives in attnlens_ml/autoexport.py (it builds on this module);
# `from attnlens_ml.export_kit import export` reaches it through this lazy attribute, so neither imports the other
# at load time.
_AUTO = ('export', 'ExportError', 'ExportReport', 'per_head_mha_weights')


def __getattr__(name: str):
    if name in _AUTO:
        from . import autoexport

        return getattr(autoexport, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
