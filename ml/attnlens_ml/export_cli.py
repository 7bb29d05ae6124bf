"""`attnlens-export`: the export kit's command line (attnlens_ml.export_kit.export for a model you build in code).

    attnlens-export mymodels.py:build_student --task segmentation --role student --input 1,3,160,160 \\
        --classes classes.json --out student.onnx

MODEL is `path/to/file.py:function` or `package.module:function`: a function that takes no arguments and returns
the torch.nn.Module (load your weights in it). The example input is zeros of --input's shape (--input-seed N: a
seeded normal sample instead). Exit status 0 with the report on stdout; 1 with the reason on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import re
import sys
from pathlib import Path


def load_factory(spec: str):
    """`file.py:function` or `package.module:function` → the function."""
    target, sep, func = spec.rpartition(':')
    if not sep or not target or not func:
        raise SystemExit(f"MODEL must be 'file.py:function' or 'package.module:function', got {spec!r}")
    if target.endswith('.py') or Path(target).exists():
        path = Path(target).resolve()
        if not path.is_file():
            raise SystemExit(f'no such file: {target}')
        sys.path.insert(0, str(path.parent))  # the file's own imports of its neighbours
        module_spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[path.stem] = module
        module_spec.loader.exec_module(module)
    else:
        sys.path.insert(0, str(Path.cwd()))
        module = importlib.import_module(target)
    fn = getattr(module, func, None)
    if not callable(fn):
        raise SystemExit(f'{target} has no function {func!r}')
    return fn


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.split(',')]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog='attnlens-export',
        description='Export a PyTorch model to ONNX with an AttnLens contract: finds attention (timm, torchvision, '
        'Hugging Face ViT/DINOv2/DETR), CBAM and squeeze-and-excitation gates and the task head, validates the '
        'contract and checks onnxruntime against PyTorch. See docs/export/.',
    )
    p.add_argument('model', metavar='MODEL', help="'file.py:function' or 'package.module:function' returning the model")
    p.add_argument('--task', required=True, choices=['segmentation', 'detection', 'classification', 'features'])
    p.add_argument('--role', required=True, choices=['teacher', 'student'])
    p.add_argument('--input', required=True, help='input shape N,C,H,W, e.g. 1,3,160,160 (the export is for it)')
    p.add_argument('--out', required=True, help='the .onnx file to write')
    p.add_argument('--id', help="model id [a-z0-9._-] (default: from --out's file name)")
    p.add_argument('--name', help='display name (default: the id)')
    p.add_argument(
        '--classes',
        help="JSON file: a list of names, a list of {id, name, color}, or {id: name} for the model's class ids "
        "(default: a Hugging Face config's id2label, else class_<i>)",
    )
    p.add_argument('--mean', type=_floats, help='per-channel mean after dividing by --scale, e.g. 0.485,0.456,0.406')
    p.add_argument('--std', type=_floats, help='per-channel std, e.g. 0.229,0.224,0.225')
    p.add_argument('--scale', type=float, default=255.0, help='pixels are divided by this first (default 255)')
    p.add_argument('--teachers', help='comma-separated ids of the teachers a student was distilled from')
    p.add_argument('--multilabel', action='store_true', help='classification logits are independent sigmoids')
    p.add_argument('--activation', choices=['softmax', 'sigmoid'], help="a detector's class activation")
    p.add_argument('--score-threshold', type=float, help="a detector's recommended score threshold in [0, 1]")
    p.add_argument('--no-attention', action='store_true', help='do not look for attention')
    p.add_argument('--no-gates', action='store_true', help='do not look for CBAM / squeeze-and-excitation gates')
    p.add_argument('--no-channel-gates', action='store_true', help='skip channel-only (squeeze-and-excitation) gates')
    p.add_argument('--input-seed', type=int, help='trace with a seeded normal input instead of zeros')
    p.add_argument('--atol', type=float, default=1e-4, help='parity tolerance, onnxruntime vs PyTorch (1e-4)')
    p.add_argument('--report', help='also write the report (found / not found / outputs / timings) as JSON here')
    return p


def model_id_from(out: str) -> str:
    stem = Path(out).name.removesuffix('.gz').removesuffix('.onnx').lower()
    return re.sub(r'[^a-z0-9._-]+', '-', stem).strip('-._') or 'model'


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    import torch

    from .autoexport import ExportError, export
    from .export_kit import ContractViolation

    try:
        shape = [int(v) for v in args.input.split(',')]
    except ValueError:
        print(f'--input must be N,C,H,W integers, got {args.input!r}', file=sys.stderr)
        return 1
    model = load_factory(args.model)()
    if not isinstance(model, torch.nn.Module):
        print(f'{args.model} returned {type(model).__name__}, not a torch.nn.Module', file=sys.stderr)
        return 1
    if args.input_seed is None:
        x = torch.zeros(shape)
    else:
        x = torch.randn(shape, generator=torch.Generator().manual_seed(args.input_seed))
    try:
        report = export(
            model,
            x,
            args.out,
            task=args.task,
            role=args.role,
            model_id=args.id or model_id_from(args.out),
            name=args.name,
            classes=args.classes,
            mean=args.mean,
            std=args.std,
            scale=args.scale,
            teachers=args.teachers.split(',') if args.teachers else None,
            multilabel=True if args.multilabel else None,
            activation=args.activation,
            score_threshold=args.score_threshold,
            attention=not args.no_attention,
            gates=not args.no_gates,
            channel_gates=not args.no_channel_gates,
            atol=args.atol,
        )
    except (ExportError, ContractViolation, ValueError) as e:
        print(f'attnlens-export: {e}', file=sys.stderr)
        return 1
    if args.report:
        Path(args.report).write_text(
            json.dumps(
                {
                    'path': str(report.path),
                    'bytes': report.bytes,
                    'seconds': round(report.seconds, 3),
                    'found': report.found,
                    'not_found': report.not_found,
                    'max_abs_diff': report.max_abs_diff,
                    'contract': report.contract,
                },
                indent=1,
            )
        )
    return 0


if __name__ == '__main__':
    sys.exit(main())
