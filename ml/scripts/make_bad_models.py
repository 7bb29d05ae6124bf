"""Files the app must recognise and word, not crash on → tests/fixtures/corpus/ (deterministic; a few KB each).

    cd ml && .venv/bin/python scripts/make_bad_models.py

Every model is make_corpus.py's tiny detector (finite outputs, a valid embedded contract) with one thing wrong,
so the contract passes and the failure comes from onnxruntime itself (the app must translate it):

- custom-op.onnx: its ReduceMean is an op 'FancyPool' of the custom domain 'com.acme'.
- opset-30.onnx: imports the default ONNX domain at opset 30 (no runtime knows it).
- ir-14.onnx: IR version 14 (newer than onnxruntime-web reads).
- external.onnx + external.onnx.data: the weights in an external-data file next to the model (loads when both
  are dropped together).
- int64-input.onnx: the graph's input is int64 (cast to float inside); the contract says float32.
- reshape-fail.onnx: a Reshape named 'bad_reshape' to twice the image's height: fails at run time.
- overflow.onnx: a Tile named 'huge_tile' whose output's size overflows int64: fails at run time.
- tiny-det.onnx.gz: a gzip of a good tiny detector (loads); model-named.png: the same model named .png.
- dynamic-batch.onnx: a good one whose graph leaves the batch axis open ('batch', as torch.onnx.export's
  dynamic_axes writes it): loads, the contract's [1, …] being fed.
- cpu-op.onnx: a good one whose one-to-one boxes pass through a Round (·0, added back), an operator
  onnxruntime-web's WebGPU provider has no kernel for: it runs on WebGPU, but its graph cannot be captured.
- Mixed.ONNX + mixed.contract.json: a model without an embedded contract and its sidecar, named in two cases.
- lonely.contract.json: a sidecar dropped without its model.
- checkpoint.pt: a PyTorch state dict (torch.save: a zip holding archive/data.pkl); weights.pkl: a raw pickle.
- notes.json: JSON that is neither COCO nor a contract.
- image-named.bin: a PNG named .bin; wide-100000x1.png, tall-1x100000.png, strip-8000x2.png: extreme sizes.
"""

from __future__ import annotations

import copy
import gzip
import json
import pickle
import sys
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_corpus import FINITE_BOXES, GALLERY, OUT, UNIFORM_ROW, tiny_detector_model  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from attnlens_ml.contract import METADATA_KEY, write_contract  # noqa: E402


def good(model_id: str) -> tuple[onnx.ModelProto, dict]:
    """The tiny detector, finite, with the gallery's classes: every fixture starts from it."""
    proto, contract = tiny_detector_model(model_id, GALLERY, [1, 2, 3, 4, 5, 6], FINITE_BOXES, UNIFORM_ROW)
    contract['model']['description'] = 'ml/scripts/make_bad_models.py'
    write_contract(proto, contract)
    return proto, contract


def write(name: str, data: bytes) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / name).write_bytes(data)
    print(f'{name}: {len(data):,} bytes')


def custom_op() -> None:
    proto, _ = good('custom-op')
    node = next(n for n in proto.graph.node if n.op_type == 'ReduceMean')
    node.op_type = 'FancyPool'
    node.domain = 'com.acme'
    proto.opset_import.append(helper.make_opsetid('com.acme', 1))
    write('custom-op.onnx', proto.SerializeToString())


def opset_30() -> None:
    proto, _ = good('opset-30')
    proto.opset_import[0].version = 30
    write('opset-30.onnx', proto.SerializeToString())


def ir_14() -> None:
    proto, _ = good('ir-14')
    proto.ir_version = 14
    write('ir-14.onnx', proto.SerializeToString())


def external() -> None:
    proto, _ = good('external')
    onnx.external_data_helper.convert_model_to_external_data(
        proto, all_tensors_to_one_file=True, location='external.onnx.data', size_threshold=1024
    )
    (OUT / 'external.onnx.data').unlink(missing_ok=True)  # onnx.save appends to an existing data file
    onnx.save(proto, str(OUT / 'external.onnx'))  # writes the tensors to external.onnx.data beside it
    for name in ('external.onnx', 'external.onnx.data'):
        print(f'{name}: {(OUT / name).stat().st_size:,} bytes')


def int64_input() -> None:
    proto, _ = good('int64-input')
    g = proto.graph
    g.input[0].type.tensor_type.elem_type = TensorProto.INT64
    for node in g.node:
        node.input[:] = ['image.float' if i == 'image' else i for i in node.input]
    g.node.insert(0, helper.make_node('Cast', ['image'], ['image.float'], to=TensorProto.FLOAT))
    write('int64-input.onnx', proto.SerializeToString())


def failing_at_run_time(model_id: str, op: str, node_name: str, factor: list[int]) -> None:
    """`op` (Reshape: to the image's shape × factor; Tile: the image repeated factor times) with a second input
    the session cannot fold away, so it loads and the first run fails; the result feeds an output through ·0,
    so it cannot be pruned."""
    proto, _ = good(model_id)
    g = proto.graph
    g.initializer.append(numpy_helper.from_array(np.array(factor, np.int64), 'factor'))
    # Tile repeats ones × factor (ones = shape / shape); Reshape asks for shape × factor
    base = 'ones' if op == 'Tile' else 'image.shape'
    g.node.extend(
        [
            helper.make_node('Shape', ['image'], ['image.shape']),
            helper.make_node('Div', ['image.shape', 'image.shape'], ['ones']),
            helper.make_node('Mul', [base, 'factor'], ['target.shape']),
            helper.make_node(op, ['image', 'target.shape'], ['bad'], name=node_name),
            helper.make_node('ReduceMean', ['bad'], ['bad.mean'], keepdims=0),
            helper.make_node('Mul', ['bad.mean', 'zero'], ['bad.zero']),
        ]
    )
    for node in g.node:  # the one-to-one boxes now depend on the failing node
        if node.output[0] == 'o2o.boxes':
            node.output[0] = 'o2o.boxes.pre'
    g.node.append(helper.make_node('Add', ['o2o.boxes.pre', 'bad.zero'], ['o2o.boxes']))
    write(f'{model_id}.onnx', proto.SerializeToString())


def gzipped_and_misnamed() -> None:
    proto, _ = good('tiny-det')
    data = proto.SerializeToString()
    write('tiny-det.onnx.gz', gzip.compress(data, mtime=0))
    write('model-named.png', data)


def dynamic_batch() -> None:
    proto, _ = good('dynamic-batch')
    for v in [*proto.graph.input, *proto.graph.output]:
        v.type.tensor_type.shape.dim[0].dim_param = 'batch'
    write('dynamic-batch.onnx', proto.SerializeToString())


def cpu_op() -> None:
    proto, _ = good('cpu-op')
    g = proto.graph
    for node in g.node:
        if node.output[0] == 'o2o.boxes':
            node.output[0] = 'o2o.boxes.pre'
    g.node.extend(
        [
            helper.make_node('Round', ['o2o.boxes.pre'], ['boxes.round'], name='cpu_round'),
            helper.make_node('Mul', ['boxes.round', 'zero'], ['boxes.round.zero']),
            helper.make_node('Add', ['o2o.boxes.pre', 'boxes.round.zero'], ['o2o.boxes']),
        ]
    )
    write('cpu-op.onnx', proto.SerializeToString())


def case_pair() -> None:
    proto, contract = good('mixed')
    kept = [p for p in proto.metadata_props if p.key != METADATA_KEY]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    write('Mixed.ONNX', proto.SerializeToString())
    write('mixed.contract.json', json.dumps(contract, indent=2).encode())
    lonely = copy.deepcopy(contract)
    lonely['model']['id'] = 'lonely'
    write('lonely.contract.json', json.dumps(lonely, indent=2).encode())


def pytorch() -> None:
    state = {'backbone.weight': torch.zeros(2, 3), 'head.bias': torch.ones(2)}
    torch.save(state, str(OUT / 'checkpoint.pt'))
    print(f'checkpoint.pt: {(OUT / "checkpoint.pt").stat().st_size:,} bytes')
    write('weights.pkl', pickle.dumps({'layer.weight': [[0.0, 1.0]], 'epoch': 3}, protocol=4))
    write('notes.json', json.dumps({'run': 'distill-7', 'lr': 0.001}).encode())


def png(name: str, width: int, height: int) -> None:
    """A grey image with a bright band across its middle (so it is not blank)."""
    pixels = np.full((height, width, 3), 90, np.uint8)
    pixels[height // 3 : max(height // 3 + 1, 2 * height // 3), width // 3 : max(width // 3 + 1, 2 * width // 3)] = 220
    Image.fromarray(pixels).save(OUT / name, format='PNG', optimize=True)
    print(f'{name}: {(OUT / name).stat().st_size:,} bytes')


def huge_input() -> None:
    """A valid model whose declared input, 40000×40000 pixels, is 19.2 GB as float32: refused at load in words."""
    proto, contract = good('huge-input')
    side = 40_000
    contract['input']['shape'] = [1, 3, side, side]
    contract['outputs'] = [o for o in contract['outputs'] if 'grid' not in o]  # attention grids tile 160 px
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_value = side
    dims[3].dim_value = side
    write_contract(proto, contract)
    write('huge-input.onnx', proto.SerializeToString())


def foreign_files() -> None:
    """Files people drop by mistake: each is named by its format, with what to convert it to."""
    pixels = np.full((24, 32, 3), 90, np.uint8)
    Image.fromarray(pixels).save(OUT / 'scan.tiff', format='TIFF')
    print(f'scan.tiff: {(OUT / "scan.tiff").stat().st_size:,} bytes')
    write('logo.svg', b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30"/>\n')
    write('spec.pdf', b'%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n')
    write('saved-page.onnx', b'<!DOCTYPE html><html><head><title>Sign in</title></head><body></body></html>\n')
    png('cut-half.png', 200, 150)
    data = (OUT / 'cut-half.png').read_bytes()
    write('cut-half.png', data[: len(data) // 2])


def main() -> None:
    custom_op()
    opset_30()
    ir_14()
    external()
    int64_input()
    failing_at_run_time('reshape-fail', 'Reshape', 'bad_reshape', [1, 1, 2, 1])
    failing_at_run_time('overflow', 'Tile', 'huge_tile', [1, 1, 2**31, 2**31])
    gzipped_and_misnamed()
    dynamic_batch()
    cpu_op()
    case_pair()
    pytorch()
    png('image-named.bin', 64, 48)
    png('wide-100000x1.png', 100_000, 1)
    png('tall-1x100000.png', 1, 100_000)
    png('strip-8000x2.png', 8000, 2)
    huge_input()
    foreign_files()


if __name__ == '__main__':
    main()
