"""A tiny float16 detector for the contract-field tests → tests/fixtures/tiny-detector-fp16.onnx (about 1 KB).

    cd ml && .venv/bin/python scripts/make_tiny_detector.py

What it exercises, each a contract field the app must honour: `input.dtype: "float16"` (the graph's input is
float16, so the app must feed half precision), float16 outputs (widened to float32 by the app), `activation:
"softmax"` box logits with a last no-object column, and `box_format: "xyxy_pixels"`. Its outputs are
hand-computable: with m = the mean of the (normalised) input over every element,

    logits = L + m·W   (3 queries × [label 1, label 2, no-object]),   boxes = B (xyxy pixels of the 32×32 input)

    L = [[2, 0, 0],        W = [[0, 0, 0],        B = [[4, 8, 20, 24],
         [0, 0, 3],             [0, 0, -4],            [0, 0, 32, 32],
         [0, 1, 0]]             [0, 0, 0]]             [16, 16, 30, 28]]

so for an all-zero input query 0 is label 1 with softmax score e²/(e²+2), query 1 is almost surely no object
(best label score 1/(2+e³)), query 2 is label 2 with e/(e+2); an all-one input (m = 1) lowers query 1's
no-object logit to −1. The graph computes in float32 between a Cast in and a Cast out, so every runtime runs it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from attnlens_ml.contract import check_against_graph, validate_contract, write_contract  # noqa: E402

OUT = Path(__file__).resolve().parents[2] / 'tests' / 'fixtures' / 'tiny-detector-fp16.onnx'
L = [[2, 0, 0], [0, 0, 3], [0, 1, 0]]
W = [[0, 0, 0], [0, 0, -4], [0, 0, 0]]
B = [[4, 8, 20, 24], [0, 0, 32, 32], [16, 16, 30, 28]]

CONTRACT = {
    'format': 'attnlens-contract',
    'version': '1.3',
    'model': {
        'id': 'tiny-detector-fp16',
        'name': 'Tiny float16 detector (test fixture)',
        'task': 'detection',
        'role': 'student',
        'family': 'detr',
        'description': 'hand-computable outputs: ml/scripts/make_tiny_detector.py',
    },
    'input': {
        'name': 'image',
        'shape': [1, 3, 32, 32],
        'layout': 'NCHW',
        'dtype': 'float16',
        'color': 'RGB',
        'scale': 255.0,
        'mean': [0.0, 0.0, 0.0],
        'std': [1.0, 1.0, 1.0],
        'resize': 'stretch',
    },
    'classes': [
        {'id': 0, 'name': 'background', 'color': '#1f2430'},
        {'id': 1, 'name': 'bolt', 'color': '#e6194b'},
        {'id': 2, 'name': 'nut', 'color': '#3cb44b'},
    ],
    'outputs': [
        {
            'name': 'logits',
            'role': 'box_logits',
            'shape': [1, 3, 3],
            'block': 'one_to_one',
            'labels': [1, 2],
            'activation': 'softmax',
            'score_threshold': 0.5,
            'description': 'softmax over [bolt, nut, no-object]',
        },
        {'name': 'boxes', 'role': 'boxes', 'shape': [1, 3, 4], 'block': 'one_to_one', 'box_format': 'xyxy_pixels'},
    ],
}


def build() -> onnx.ModelProto:
    const = lambda name, v: numpy_helper.from_array(np.asarray(v, np.float32)[None], name)  # noqa: E731
    nodes = [
        helper.make_node('Cast', ['image'], ['x'], to=TensorProto.FLOAT),
        helper.make_node('ReduceMean', ['x'], ['m'], keepdims=0),
        helper.make_node('Mul', ['m', 'W'], ['mw']),
        helper.make_node('Add', ['L', 'mw'], ['logits32']),
        helper.make_node('Cast', ['logits32'], ['logits'], to=TensorProto.FLOAT16),
        helper.make_node('Mul', ['m', 'Z'], ['mz']),  # boxes depend on the input too (by zero): no constant folding
        helper.make_node('Add', ['B', 'mz'], ['boxes32']),
        helper.make_node('Cast', ['boxes32'], ['boxes'], to=TensorProto.FLOAT16),
    ]
    graph = helper.make_graph(
        nodes,
        'tiny_detector_fp16',
        [helper.make_tensor_value_info('image', TensorProto.FLOAT16, [1, 3, 32, 32])],
        [
            helper.make_tensor_value_info('logits', TensorProto.FLOAT16, [1, 3, 3]),
            helper.make_tensor_value_info('boxes', TensorProto.FLOAT16, [1, 3, 4]),
        ],
        [const('L', L), const('W', W), const('B', B), const('Z', np.zeros((3, 4)))],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)], producer_name='attnlens-tests')
    model.ir_version = 8
    onnx.checker.check_model(model)
    write_contract(model, CONTRACT)
    return model


def main() -> None:
    model = build()
    problems = validate_contract(CONTRACT) or check_against_graph(CONTRACT, model)
    if problems:
        raise SystemExit('\n'.join(map(str, problems)))
    onnx.save(model, str(OUT))
    print(f'wrote {OUT} ({OUT.stat().st_size} bytes)')


if __name__ == '__main__':
    main()
