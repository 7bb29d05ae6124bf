"""Open the batch axis of a graph exported at batch 1, and prove the result equal to image-by-image runs.

torch.onnx.export at a fixed example folds the batch (1) into shape constants: Reshape targets [1, …] and the
shapes an Expand broadcasts to (a CLS token or the queries, `expand(B, -1, -1)` traced at B = 1). Setting the
inputs' and outputs' first dimension to a symbolic `batch` is then not enough. `open_batch_axis` rewrites
those constants from the graph's own values at batch 1:
  - a Reshape whose (constant) target starts with 1 gets 0 there: "copy the input's first dimension";
  - an Expand whose target shape (computed from constants only) starts with 1 expands to the input's batch
    instead (Shape(input)[0], then the rest of the target; Expand broadcasts like numpy, so the other entries
    are kept as they were).
Nothing else is assumed: `batch_parity` runs the rewritten graph on N images against N runs of the original
(onnxruntime, CPU) and the caller refuses a file that differs. New exports (export_kit.export_with_contract)
are traced with a dynamic batch axis instead and need none of this.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

BATCH = 'batch'


def _constant_values(model: onnx.ModelProto, names: list[str], input_shape: list[int]) -> dict[str, np.ndarray]:
    """Values of intermediate tensors at batch 1 (the graph as exported), by running it with them as outputs."""
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    known = {o.name for o in probe.graph.output}
    for n in names:
        if n not in known:
            probe.graph.output.append(helper.make_tensor_value_info(n, onnx.TensorProto.INT64, None))
    sess = ort.InferenceSession(probe.SerializeToString(), _quiet(), providers=['CPUExecutionProvider'])
    x = np.zeros(input_shape, _numpy_type(model.graph.input[0]))
    return dict(zip(names, sess.run(names, {model.graph.input[0].name: x})))


def _numpy_type(value: onnx.ValueInfoProto):
    return onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[value.type.tensor_type.elem_type]


def _depends_on_input(model: onnx.ModelProto, name: str) -> bool:
    producers = {o: n for n in model.graph.node for o in n.output}
    inputs = {i.name for i in model.graph.input}
    stack, seen = [name], set()
    while stack:
        t = stack.pop()
        if t in inputs:
            return True
        if t in seen or t not in producers:
            continue
        seen.add(t)
        stack.extend(producers[t].input)
    return False


def open_batch_axis(model: onnx.ModelProto) -> tuple[onnx.ModelProto, dict]:
    """A copy of `model` (one input, exported at batch 1) whose batch axis is symbolic; with what was rewritten."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    g = out.graph
    if len(g.input) != 1:
        raise ValueError(f'the graph has {len(g.input)} inputs; open_batch_axis handles one image input')
    image = g.input[0]
    if is_open(out):
        _drop_unused_initializers(out)  # what an earlier rewrite left behind
        return out, {'reshape': 0, 'expand': 0, 'already_open': True}
    input_shape = [d.dim_value for d in image.type.tensor_type.shape.dim]
    if input_shape[0] != 1:
        raise ValueError(f'the input {image.name} is {input_shape}: its batch is not 1')
    reshapes = [n for n in g.node if n.op_type == 'Reshape' and not _depends_on_input(out, n.input[1])]
    expands = [n for n in g.node if n.op_type == 'Expand' and not _depends_on_input(out, n.input[1])]
    values = _constant_values(out, [n.input[1] for n in reshapes + expands], input_shape)
    rewritten = {'reshape': 0, 'expand': 0}
    # the batch as a 1-element int64 tensor, built once at the head of the graph
    batch_name = f'{image.name}__batch'
    head = [
        helper.make_node('Shape', [image.name], [f'{batch_name}_shape']),
        helper.make_node('Slice', [f'{batch_name}_shape', f'{batch_name}_0', f'{batch_name}_1'], [batch_name]),
    ]
    g.initializer.extend(
        [
            numpy_helper.from_array(np.array([0], np.int64), f'{batch_name}_0'),
            numpy_helper.from_array(np.array([1], np.int64), f'{batch_name}_1'),
        ]
    )
    for n in reshapes:
        target = values[n.input[1]]
        if target.ndim == 1 and len(target) and target[0] == 1:
            name = f'{n.name or n.output[0]}__batch_target'
            fixed = target.copy()
            fixed[0] = 0  # copy the input's first dimension (allowzero stays 0)
            if any(a.name == 'allowzero' and a.i for a in n.attribute):
                raise ValueError(f'Reshape {n.name} has allowzero=1: 0 would not mean "copy"')
            g.initializer.append(numpy_helper.from_array(fixed.astype(np.int64), name))
            n.input[1] = name
            rewritten['reshape'] += 1
    for n in expands:
        target = values[n.input[1]]
        if target.ndim == 1 and len(target) > 1 and target[0] == 1:
            name = f'{n.name or n.output[0]}__batch_target'
            rest = f'{name}_rest'
            g.initializer.append(numpy_helper.from_array(target[1:].astype(np.int64), rest))
            head.append(helper.make_node('Concat', [batch_name, rest], [name], axis=0))
            n.input[1] = name
            rewritten['expand'] += 1
    nodes = head + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    for v in list(g.input) + list(g.output):
        dim = v.type.tensor_type.shape.dim[0]
        dim.Clear()
        dim.dim_param = BATCH
    del g.value_info[:]  # shapes inferred at batch 1 no longer hold
    _drop_unused_initializers(out)
    onnx.checker.check_model(out)
    return out, rewritten


def _quiet():
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # the probe's extra outputs leave folded constants unused: not worth a warning
    return options


def is_open(model: onnx.ModelProto) -> bool:
    """The input's first dimension is symbolic (named, or unknown)."""
    dim = model.graph.input[0].type.tensor_type.shape.dim[0]
    return not dim.HasField('dim_value') or dim.dim_value <= 0


def _drop_unused_initializers(model: onnx.ModelProto) -> None:
    """Nodes (a Constant that fed a rewritten target) and initializers nothing reads any more, until none is
    left: onnxruntime would otherwise warn about each when it loads the file."""
    g = model.graph
    while True:
        used = {i for n in g.node for i in n.input} | {o.name for o in g.output}
        live = [n for n in g.node if any(o in used for o in n.output)]
        if len(live) == len(g.node):
            break
        del g.node[:]
        g.node.extend(live)
    keep = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)


def batch_parity(
    original: onnx.ModelProto | bytes, batched: onnx.ModelProto | bytes, n: int = 3, seed: int = 0
) -> float:
    """Largest absolute difference between one run of `batched` on n random images and n runs of `original`
    (inf when an output does not carry the batch)."""
    import onnxruntime as ort

    def session(m):
        data = m if isinstance(m, bytes) else m.SerializeToString()
        return ort.InferenceSession(data, _quiet(), providers=['CPUExecutionProvider'])

    one, many = session(original), session(batched)
    inp = one.get_inputs()[0]
    shape = [int(d) for d in inp.shape[1:]]
    x = np.random.default_rng(seed).random((n, *shape), dtype=np.float32)
    if inp.type == 'tensor(float16)':
        x = x.astype(np.float16)
    together = many.run(None, {inp.name: x})
    worst = 0.0
    for i in range(n):
        alone = one.run(None, {inp.name: x[i : i + 1]})
        for a, b in zip(alone, together):
            if b.shape[0] != n or b.shape[1:] != a.shape[1:]:
                return float('inf')
            worst = max(worst, float(np.abs(a.astype(np.float64) - b[i : i + 1].astype(np.float64)).max(initial=0)))
    return worst


# Batch sizes the parity check runs (1: the graph still runs as before; 3 and 8: odd and even batches).
PARITY_BATCHES = (1, 3, 8)
PARITY_TOLERANCE = 1e-4


def open_file(path: Path) -> dict:
    """Open the batch axis of an exported file in place (keeping its metadata: the contract), after proving
    parity at PARITY_BATCHES; a file that fails is left as it was and the error names it."""
    original = onnx.load(str(path))
    batched, rewritten = open_batch_axis(original)
    if rewritten.get('already_open') and batched.SerializeToString() == original.SerializeToString():
        return rewritten
    try:
        worst = max(batch_parity(original, batched, n) for n in PARITY_BATCHES)
    except Exception as e:  # onnxruntime refuses the rewritten graph, or fails running a batch
        raise ValueError(f'{path.name}: the rewritten graph does not run batches ({e}); left at batch 1') from e
    if not worst <= PARITY_TOLERANCE:
        raise ValueError(f'{path.name}: batched runs differ from image-by-image runs by {worst:g}; left at batch 1')
    onnx.save(batched, str(path))
    return {**rewritten, 'parity_max_abs_diff': worst}


def open_zoo(index: dict, models_dir: Path | None = None) -> None:
    """Every zoo model and variant of `index` with its batch axis opened; their file facts updated."""
    from .thresholds import file_facts
    from .zoo import MODELS

    public = (models_dir or MODELS).parent  # index paths are relative to public/ ('models/….onnx')
    for entry in [*index['models'], *index.get('variants', [])]:
        path = public / entry['file']
        r = open_file(path)
        entry.update(file_facts(path))
        print(f'[batch-axis] {entry["file"]}: {r}')


def main() -> None:
    import json

    from .zoo import MODELS

    index_path = MODELS / 'index.json'
    index = json.loads(index_path.read_text())
    open_zoo(index)
    index_path.write_text(json.dumps(index, indent=1))


if __name__ == '__main__':
    main()
