"""A classifier that only looks at the top-left quadrant → tests/fixtures/quadrant-classifier.onnx (about 1 KB).

    cd ml && .venv/bin/python scripts/make_quadrant_classifier.py

The saliency tests' model whose answer is known: with m = the mean of the input (scaled to 0..1, all three
channels) over the top-left 32×32 quarter of its 64×64 input,

    logits = [G·(m − ½), −G·(m − ½)]   (class_logits over [bright, dark], softmax),   G = 8

so P(bright) = sigmoid(2G·(m − ½)) and no pixel outside that quarter changes anything: occlusion and RISE
must put their saliency there. The graph leaves the batch axis open ('batch'), so the app runs its masked
images in batches. The contract is written with the export kit's make_contract and checked against the graph.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from attnlens_ml.contract import check_against_graph, validate_contract, write_contract  # noqa: E402
from attnlens_ml.export_kit import make_contract  # noqa: E402

OUT = Path(__file__).resolve().parents[2] / 'tests' / 'fixtures' / 'quadrant-classifier.onnx'
SIDE = 64
GAIN = 8.0

CONTRACT = make_contract(
    model_id='quadrant-classifier',
    name='Top-left quadrant classifier (test fixture)',
    task='classification',
    role='student',
    family='cnn',
    input_name='image',
    input_hw=(SIDE, SIDE),
    mean=[0.0, 0.0, 0.0],
    std=[1.0, 1.0, 1.0],
    class_names=['background', 'bright', 'dark'],
    class_colors=['#1f2430', '#ffe119', '#4363d8'],
    outputs=[
        {
            'name': 'logits',
            'role': 'class_logits',
            'shape': [1, 2],
            'labels': [1, 2],
            'description': 'softmax over [bright, dark]: the mean brightness of the top-left quarter only',
        }
    ],
    description='saliency test fixture: ml/scripts/make_quadrant_classifier.py',
)


def build() -> onnx.ModelProto:
    half = SIDE // 2
    ints = lambda name, v: numpy_helper.from_array(np.asarray(v, np.int64), name)  # noqa: E731
    floats = lambda name, v: numpy_helper.from_array(np.asarray(v, np.float32), name)  # noqa: E731
    nodes = [
        # image[:, :, 0:32, 0:32]
        helper.make_node('Slice', ['image', 'starts', 'ends', 'axes'], ['quarter']),
        helper.make_node('ReduceMean', ['quarter'], ['m'], axes=[1, 2, 3], keepdims=1),  # [N, 1, 1, 1]
        helper.make_node('Flatten', ['m'], ['m2'], axis=1),  # [N, 1]
        helper.make_node('Sub', ['m2', 'half'], ['centred']),
        helper.make_node('Mul', ['centred', 'gains'], ['logits']),  # [N, 2]
    ]
    batch = 'batch'
    graph = helper.make_graph(
        nodes,
        'quadrant_classifier',
        [helper.make_tensor_value_info('image', TensorProto.FLOAT, [batch, 3, SIDE, SIDE])],
        [helper.make_tensor_value_info('logits', TensorProto.FLOAT, [batch, 2])],
        [
            ints('starts', [0, 0]),
            ints('ends', [half, half]),
            ints('axes', [2, 3]),
            floats('half', [0.5]),
            floats('gains', [[GAIN, -GAIN]]),
        ],
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
