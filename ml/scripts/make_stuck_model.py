"""A model whose run never ends in practice → tests/fixtures/corpus/seg-stuck.onnx (regenerate: deterministic).

    cd ml && .venv/bin/python scripts/make_stuck_model.py

The zoo's seg-student-plain graph (and its contract, renamed 'seg-stuck') with a Loop of 2^62 iterations on a
scalar that depends on the image, added to seg_logits times zero: a valid AttnLens model whose every run
spins for hours at a few microseconds an iteration. The app's e2e tests run it with `?runTimeout=3` to check
that a stuck model is stopped, named, cancellable and retried while the other models keep working.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_corpus import ROOT, save  # noqa: E402

from attnlens_ml.contract import read_contract  # noqa: E402

ITERATIONS = 2**62


def spin_body() -> onnx.GraphProto:
    """Loop body: (iteration, condition, x) → (condition, x + 1e-9)."""
    return helper.make_graph(
        [
            helper.make_node('Identity', ['cond_in'], ['cond_out']),
            helper.make_node('Add', ['x_in', 'step'], ['x_out']),
        ],
        'spin',
        [
            helper.make_tensor_value_info('i', TensorProto.INT64, []),
            helper.make_tensor_value_info('cond_in', TensorProto.BOOL, []),
            helper.make_tensor_value_info('x_in', TensorProto.FLOAT, []),
        ],
        [
            helper.make_tensor_value_info('cond_out', TensorProto.BOOL, []),
            helper.make_tensor_value_info('x_out', TensorProto.FLOAT, []),
        ],
        [numpy_helper.from_array(np.array(1e-9, np.float32), 'step')],
    )


def seg_stuck() -> None:
    proto = onnx.load(str(ROOT / 'public' / 'models' / 'seg-student-plain.onnx'))
    contract = copy.deepcopy(read_contract(proto))
    contract['model'].update(
        id='seg-stuck',
        name='Segmenter whose run never ends (test fixture)',
        description='ml/scripts/make_stuck_model.py',
    )
    g = proto.graph
    output = 'seg_logits'
    for node in g.node:
        node.output[:] = [f'{output}.raw' if o == output else o for o in node.output]
        node.input[:] = [f'{output}.raw' if i == output else i for i in node.input]
    g.initializer.extend(
        [
            numpy_helper.from_array(np.array(ITERATIONS, np.int64), 'spin.trips'),
            numpy_helper.from_array(np.array(True), 'spin.cond'),
            numpy_helper.from_array(np.array(0, np.float32), 'spin.zero'),
        ]
    )
    g.node.extend(
        [
            helper.make_node('ReduceMean', [contract['input']['name']], ['spin.start'], keepdims=0),
            helper.make_node('Loop', ['spin.trips', 'spin.cond', 'spin.start'], ['spin.end'], body=spin_body()),
            helper.make_node('Mul', ['spin.end', 'spin.zero'], ['spin.nothing']),
            helper.make_node('Add', [f'{output}.raw', 'spin.nothing'], [output]),
        ]
    )
    save(proto, contract, 'seg-stuck.onnx')


if __name__ == '__main__':
    seg_stuck()
