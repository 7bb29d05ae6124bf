"""Hostile model fixtures for the app's NaN/Inf e2e corpus → tests/fixtures/corpus/ (regenerate: deterministic).

    cd ml && .venv/bin/python scripts/make_corpus.py

- seg-nan.onnx: the zoo's seg-student-plain graph with `Where` nodes added on four outputs, so that for any
  image: seg_logits has 1,024 NaN values (class 0 of a 32×32 pixel block) and 3 +Infinity ones (class 2 of 3
  pixels); the backbone site's spatial gate is NaN everywhere (400 values) and its channel gate has 2 NaN
  values; the context site's spatial gate has 10 NaN cells. (What a contract with std 0 does to every output,
  confined to a few so the views have something left to draw.)
- det-nan.onnx: a tiny hand-built DETR (one-to-one and one-to-many blocks, cross- and encoder attention, the
  gallery's classes) whose boxes of queries 0–3 are NaN and of query 4 +Infinity, and whose encoder attention
  has a NaN key (cell 0) in every row.
- det-classes.onnx: a tiny hand-built DETR with classes 0–2 ('cat', 'dog', 'bird') and finite outputs: the
  gallery's ground truth (classes 1–6, 'bolt'…'defect') does not match it.

The tiny detectors' outputs are constants plus 0 × the input's mean (so they are functions of the image), each
a few kilobytes. Every file carries a contract that passes the validator and the graph check.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / 'ml'))

from attnlens_ml.contract import check_against_graph, read_contract, validate_contract, write_contract  # noqa: E402

OUT = ROOT / 'tests' / 'fixtures' / 'corpus'
GALLERY = ['background', 'bolt', 'nut', 'washer', 'gear', 'bracket', 'defect']
COLOURS = ['#1f2430', '#e6194b', '#3cb44b', '#ffe119', '#4363d8', '#f58231', '#f032e6']


def save(proto: onnx.ModelProto, contract: dict, name: str) -> None:
    errors = validate_contract(contract) or check_against_graph(contract, proto)
    if errors:
        raise SystemExit(f'{name}: {errors}')
    write_contract(proto, contract)
    onnx.checker.check_model(proto)
    OUT.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(OUT / name))
    print(f'{name}: {(OUT / name).stat().st_size:,} bytes')


def poison(graph: onnx.GraphProto, output: str, parts: list[tuple[float, np.ndarray, np.ndarray]]) -> None:
    """Replace graph output `output` by Where(a ∧ b, value, raw) for each (value, a, b): a and b broadcast."""
    raw = f'{output}.raw'
    for node in graph.node:
        node.output[:] = [raw if o == output else o for o in node.output]
        node.input[:] = [raw if i == output else i for i in node.input]
    current = raw
    for n, (value, a, b) in enumerate(parts):
        tag = f'{output}.poison{n}'
        graph.initializer.extend(
            [
                numpy_helper.from_array(a.astype(np.bool_), f'{tag}.a'),
                numpy_helper.from_array(b.astype(np.bool_), f'{tag}.b'),
                numpy_helper.from_array(np.array(value, dtype=np.float32), f'{tag}.value'),
            ]
        )
        last = n == len(parts) - 1
        graph.node.extend(
            [
                helper.make_node('And', [f'{tag}.a', f'{tag}.b'], [f'{tag}.cond']),
                helper.make_node('Where', [f'{tag}.cond', f'{tag}.value', current], [output if last else f'{tag}.out']),
            ]
        )
        current = f'{tag}.out'


def seg_nan() -> None:
    proto = onnx.load(str(ROOT / 'public' / 'models' / 'seg-student-plain.onnx'))
    contract = copy.deepcopy(read_contract(proto))
    contract['model'].update(
        id='seg-nan',
        name='Segmenter with NaN and infinite outputs (test fixture)',
        description='ml/scripts/make_corpus.py',
    )
    g = proto.graph
    channel = lambda k, n=7: np.arange(n).reshape(1, n, 1, 1) == k  # noqa: E731
    block = np.zeros((1, 1, 160, 160), bool)
    block[0, 0, 40:72, 60:92] = True  # 32 × 32 = 1,024 pixels
    three = np.zeros((1, 1, 160, 160), bool)
    three[0, 0, 5, [5, 80, 150]] = True
    poison(g, 'seg_logits', [(np.nan, channel(0), block), (np.inf, channel(2), three)])
    everywhere = np.ones((1, 1, 1, 1), bool)
    poison(g, 'cbam.backbone.spatial', [(np.nan, everywhere, np.ones((1, 1, 20, 20), bool))])
    two = np.zeros((1, 32), bool)
    two[0, [3, 17]] = True
    poison(g, 'cbam.backbone.channel', [(np.nan, np.ones((1, 1), bool), two)])
    ten = np.zeros((1, 1, 20, 20), bool)
    ten[0, 0, 9, 5:15] = True
    poison(g, 'cbam.context.spatial', [(np.nan, everywhere, ten)])
    save(proto, contract, 'seg-nan.onnx')


def tiny_detector_model(
    model_id: str, classes: list[str], labels: list[int], boxes: np.ndarray, encoder_row: np.ndarray
) -> tuple[onnx.ModelProto, dict]:
    """A DETR-shaped graph: outputs = constant + 0·mean(image); 8 one-to-one and 16 one-to-many queries."""
    q1, q2, grid = 8, 16, (20, 20)
    n = grid[0] * grid[1]
    rng = np.random.default_rng(7)
    c = len(labels)
    logits1 = rng.normal(-2, 1.5, (1, q1, c)).astype(np.float32)
    logits1[0, 5:, 0] = 3.0  # three confident finite queries (label 0 of the block)
    logits2 = rng.normal(-2, 1.5, (1, q2, c)).astype(np.float32)
    boxes2 = np.tile(boxes, (1, 2, 1)).astype(np.float32)
    consts = {
        'o2o.logits': logits1,
        'o2o.boxes': boxes.astype(np.float32),
        'o2m.logits': logits2,
        'o2m.boxes': boxes2,
    }
    nodes = [
        helper.make_node('ReduceMean', ['image'], ['m'], keepdims=0),
        helper.make_node('Mul', ['m', 'zero'], ['z']),
    ]
    inits = [numpy_helper.from_array(np.array(0, np.float32), 'zero')]
    for out, value in consts.items():
        inits.append(numpy_helper.from_array(value, f'{out}.const'))
        nodes.append(helper.make_node('Add', [f'{out}.const', 'z'], [out]))
    # Attention maps: one row expanded at run time to every head and query (no megabytes of constants):
    # uniform cross-attention, and the encoder row given.
    expanded = {
        'o2o.cross_attention': (np.full(n, 1 / n), [1, q1, n]),
        'o2m.cross_attention': (np.full(n, 1 / n), [1, q2, n]),
        'encoder.attention': (encoder_row, [1, 4, n, n]),
    }
    for out, (row, shape) in expanded.items():
        inits += [
            numpy_helper.from_array(row.reshape([1] * (len(shape) - 1) + [n]).astype(np.float32), f'{out}.row'),
            numpy_helper.from_array(np.array(shape, np.int64), f'{out}.shape'),
        ]
        nodes += [
            helper.make_node('Add', [f'{out}.row', 'z'], [f'{out}.row.z']),
            helper.make_node('Expand', [f'{out}.row.z', f'{out}.shape'], [out]),
        ]
    shapes = {k: list(v.shape) for k, v in consts.items()} | {k: v[1] for k, v in expanded.items()}
    graph = helper.make_graph(
        nodes,
        model_id,
        [helper.make_tensor_value_info('image', TensorProto.FLOAT, [1, 3, 160, 160])],
        [helper.make_tensor_value_info(k, TensorProto.FLOAT, shapes[k]) for k in shapes],
        inits,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)], producer_name='make_corpus.py')
    proto.ir_version = 8
    cross = {'grid': list(grid), 'stride': 8, 'layout': 'batch,query,key', 'upsample': 'bilinear'}
    contract = {
        'format': 'attnlens-contract',
        'version': '1.3',
        'model': {
            'id': model_id,
            'name': f'{model_id} (test fixture)',
            'task': 'detection',
            'role': 'student',
            'family': 'detr',
            'description': 'ml/scripts/make_corpus.py',
        },
        'input': {
            'name': 'image',
            'shape': [1, 3, 160, 160],
            'layout': 'NCHW',
            'dtype': 'float32',
            'color': 'RGB',
            'scale': 255.0,
            'mean': [0.5, 0.5, 0.5],
            'std': [0.25, 0.25, 0.25],
            'resize': 'stretch',
        },
        'classes': [{'id': i, 'name': c, 'color': COLOURS[i]} for i, c in enumerate(classes)],
        'outputs': [
            {
                'name': 'o2o.logits',
                'role': 'box_logits',
                'shape': [1, q1, c],
                'block': 'one_to_one',
                'labels': labels,
                'activation': 'sigmoid',
                'score_threshold': 0.5,
            },
            {
                'name': 'o2o.boxes',
                'role': 'boxes',
                'shape': [1, q1, 4],
                'block': 'one_to_one',
                'box_format': 'cxcywh_normalized',
            },
            {
                'name': 'o2o.cross_attention',
                'role': 'cross_attention',
                'shape': [1, q1, n],
                'block': 'one_to_one',
                **cross,
            },
            {
                'name': 'o2m.logits',
                'role': 'box_logits',
                'shape': [1, q2, c],
                'block': 'one_to_many',
                'labels': labels,
                'activation': 'sigmoid',
                'k': 2,
            },
            {
                'name': 'o2m.boxes',
                'role': 'boxes',
                'shape': [1, q2, 4],
                'block': 'one_to_many',
                'box_format': 'cxcywh_normalized',
                'k': 2,
            },
            {
                'name': 'o2m.cross_attention',
                'role': 'cross_attention',
                'shape': [1, q2, n],
                'block': 'one_to_many',
                'k': 2,
                **cross,
            },
            {
                'name': 'encoder.attention',
                'role': 'encoder_attention',
                'shape': [1, 4, n, n],
                'grid': list(grid),
                'stride': 8,
                'layout': 'batch,head,query,key',
                'upsample': 'bilinear',
            },
        ],
    }
    return proto, contract


def tiny_detector(
    name: str, model_id: str, classes: list[str], labels: list[int], boxes: np.ndarray, encoder_row: np.ndarray
) -> None:
    save(*tiny_detector_model(model_id, classes, labels, boxes, encoder_row), name)


FINITE_BOXES = np.array(
    [
        [
            [0.2, 0.2, 0.2, 0.2],
            [0.5, 0.5, 0.3, 0.3],
            [0.8, 0.3, 0.2, 0.3],
            [0.3, 0.8, 0.2, 0.2],
            [0.6, 0.6, 0.2, 0.2],
            [0.25, 0.7, 0.2, 0.2],
            [0.7, 0.25, 0.2, 0.2],
            [0.5, 0.2, 0.3, 0.2],
        ]
    ]
)
UNIFORM_ROW = np.full(400, 1 / 400)


def main() -> None:
    seg_nan()
    finite = FINITE_BOXES
    nan_boxes = finite.copy()
    nan_boxes[0, 0:4] = np.nan
    nan_boxes[0, 4, 0] = np.inf
    row = UNIFORM_ROW
    nan_row = row.copy()
    nan_row[0] = np.nan
    tiny_detector('det-nan.onnx', 'det-nan', GALLERY, [1, 2, 3, 4, 5, 6], nan_boxes, nan_row)
    tiny_detector('det-classes.onnx', 'det-classes', ['cat', 'dog', 'bird'], [0, 1, 2], finite, row)
    print(json.dumps(sorted(p.name for p in OUT.glob('*.onnx'))))


if __name__ == '__main__':
    main()
