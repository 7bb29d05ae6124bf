"""Letterbox variants of zoo models, for end-to-end tests of letterbox placement (not in the app's menu).

    ml/.venv/bin/python -m attnlens_ml.variants      # or: ml/.venv/bin/python ml/scripts/make_variants.py

Each variant is a zoo model with the same graph and weights; only its embedded contract differs: a distinct
model id, input `resize: "letterbox"` with `letterbox_fill` [114, 114, 114]. They are written to
public/models/variants/ and listed in public/models/index.json under "variants" (the menu reads "models" and
"pairs" only). The pipeline calls `add_variants` after `thresholds.annotate_zoo`, so the detector's variant
carries the recommended score threshold of the model it copies.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / 'public' / 'models'
VARIANTS_DIR = MODELS / 'variants'
FILL = [114, 114, 114]
VARIANTS = [
    {'id': 'detr-teacher-letterbox', 'of': 'detr-teacher'},
    {'id': 'seg-student-attnfd-letterbox', 'of': 'seg-student-attnfd'},
]


def make_variant(src: Path, out: Path, model_id: str, fill: list[int] = FILL) -> dict:
    """Copy `src` to `out` with a letterbox contract (metadata only: the graph is byte-identical)."""
    import onnx

    from .contract import check_against_graph, read_contract, validate_contract, write_contract

    proto = onnx.load(str(src))
    graph = proto.graph.SerializeToString()
    contract = copy.deepcopy(read_contract(proto))
    of = contract['model']['id']
    contract['model']['id'] = model_id
    contract['model']['name'] += ' · letterbox'
    contract['model']['description'] = (
        f'Test variant of {of}: same graph and weights, input letterboxed '
        f'(aspect ratio kept, fill {fill}) instead of stretched. ' + contract['model'].get('description', '')
    ).strip()
    contract['input']['resize'] = 'letterbox'
    contract['input']['letterbox_fill'] = list(fill)
    errors = validate_contract(contract) or check_against_graph(contract, proto)
    if errors:
        raise ValueError(f'{model_id}: ' + '; '.join(map(str, errors)))
    write_contract(proto, contract)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(out))
    if onnx.load(str(out)).graph.SerializeToString() != graph:
        raise RuntimeError(f'{out}: the graph changed while writing metadata')
    return contract


def add_variants(index: dict, models_dir: Path = MODELS) -> list[dict]:
    """Write every variant whose source model is in `index` and list them in index["variants"]."""
    from .thresholds import file_facts

    by_id = {m['id']: m for m in index['models']}
    entries = []
    for v in VARIANTS:
        if v['of'] not in by_id:
            print(f'[variants] {v["of"]} is not in the zoo: {v["id"]} skipped')
            continue
        out = models_dir / 'variants' / f'{v["id"]}.onnx'
        make_variant(models_dir / Path(by_id[v['of']]['file']).name, out, v['id'])
        entries.append(
            {
                'id': v['id'],
                'file': f'models/variants/{out.name}',
                'of': v['of'],
                'task': by_id[v['of']]['task'],
                'resize': 'letterbox',
                'letterbox_fill': FILL,
                **file_facts(out),
                'purpose': 'end-to-end tests of letterbox placement; not in the menu',
            }
        )
        print(f'[variants] {entries[-1]["file"]} (of {v["of"]})')
    index['variants'] = entries
    return entries


def main() -> None:
    path = MODELS / 'index.json'
    index = json.loads(path.read_text())
    add_variants(index)
    path.write_text(json.dumps(index, indent=1))


if __name__ == '__main__':
    main()
