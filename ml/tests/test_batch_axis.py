"""The batch axis: every shipped file runs N images in one run exactly as N runs of one; the rewrite of a
graph traced at batch 1 (Reshape targets, a CLS token's Expand) proven on models built here; a graph it cannot
fix is refused and left as it was."""

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn

from attnlens_ml.batch_axis import BATCH, batch_parity, is_open, open_batch_axis, open_file

ROOT = Path(__file__).resolve().parents[2]
INDEX = json.loads((ROOT / 'public/models/index.json').read_text())
FILES = [e['file'] for e in INDEX['models'] + INDEX['variants']]


def _session(m: onnx.ModelProto | Path):
    data = m.read_bytes() if isinstance(m, Path) else m.SerializeToString()
    return ort.InferenceSession(data, providers=['CPUExecutionProvider'])


@pytest.mark.parametrize('file', FILES)
def test_every_shipped_file_runs_a_batch_as_image_by_image(file):
    path = ROOT / 'public' / file
    model = onnx.load(str(path))
    assert is_open(model), f'{file} has a fixed batch'
    for o in model.graph.output:
        assert o.type.tensor_type.shape.dim[0].dim_param == BATCH, o.name
    # nothing left behind by the rewrite (onnxruntime warns about each dead node or initializer at load)
    read = {i for n in model.graph.node for i in n.input} | {o.name for o in model.graph.output}
    assert all(any(o in read for o in n.output) for n in model.graph.node)
    assert all(i.name in read for i in model.graph.initializer)
    sess = _session(path)
    inp = sess.get_inputs()[0]
    x = np.random.default_rng(3).random((5, *inp.shape[1:]), dtype=np.float32)
    together = sess.run(None, {inp.name: x})
    for i in range(5):
        for a, b in zip(sess.run(None, {inp.name: x[i : i + 1]}), together):
            assert b.shape == (5, *a.shape[1:])
            np.testing.assert_allclose(b[i : i + 1], a, atol=1e-4, rtol=1e-4)


class TinyViT(nn.Module):
    """A CLS token expanded to the batch and attention reshaped per head: what folds the batch into constants."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, 16, 8, 8)
        self.cls = nn.Parameter(torch.randn(1, 1, 16))
        self.qkv = nn.Linear(16, 48)
        self.head = nn.Linear(16, 5)

    def forward(self, x):
        b = x.shape[0]
        t = self.embed(x).flatten(2).transpose(1, 2)
        t = torch.cat([self.cls.expand(b, -1, -1), t], 1)
        q, k, v = self.qkv(t).reshape(b, t.shape[1], 3, 2, 8).permute(2, 0, 3, 1, 4)
        attn = (q @ k.transpose(-1, -2) / 8**0.5).softmax(-1)
        t = (attn @ v).transpose(1, 2).reshape(b, t.shape[1], 16)
        return self.head(t[:, 0]), attn


class FlattensTheBatch(nn.Module):
    """Reshapes the whole batch into one row: the rewritten graph cannot run a batch."""

    def forward(self, x):
        return x.reshape(-1).mean().reshape(1, 1) + x.mean((1, 2, 3)).reshape(-1, 1)


class MixesImages(nn.Module):
    """Subtracts the batch's mean image: it runs a batch, but not as N runs of one."""

    def forward(self, x):
        return x - x.mean(0, keepdim=True)


def _export(module: nn.Module, path: Path, outputs: list[str]) -> onnx.ModelProto:
    torch.manual_seed(0)
    with torch.no_grad():
        torch.onnx.export(
            module.eval(),
            (torch.zeros(1, 3, 32, 32),),
            str(path),
            input_names=['image'],
            output_names=outputs,
            opset_version=17,
        )
    return onnx.load(str(path))


def test_a_graph_traced_at_batch_one_is_rewritten_and_equal_per_image(tmp_path):
    torch.manual_seed(0)
    traced = _export(TinyViT(), tmp_path / 'vit.onnx', ['logits', 'attn'])
    # naming the axis alone is not enough: the constants hold the batch
    with pytest.raises(ort.capi.onnxruntime_pybind11_state.Fail):
        naive = onnx.ModelProto()
        naive.CopyFrom(traced)
        for v in list(naive.graph.input) + list(naive.graph.output):
            v.type.tensor_type.shape.dim[0].dim_param = BATCH
        _session(naive).run(None, {'image': np.zeros((2, 3, 32, 32), np.float32)})
    opened, rewritten = open_batch_axis(traced)
    assert rewritten['reshape'] >= 2 and rewritten['expand'] >= 1
    for n in (1, 2, 7):
        assert batch_parity(traced, opened, n) < 1e-5
    again, r = open_batch_axis(opened)
    assert r.get('already_open') and again.SerializeToString() == opened.SerializeToString()


@pytest.mark.parametrize(
    'module, why', [(FlattensTheBatch(), 'does not run batches'), (MixesImages(), 'differ from image-by-image runs')]
)
def test_a_graph_that_mixes_images_is_refused_and_left_unchanged(tmp_path, module, why):
    path = tmp_path / 'mixes.onnx'
    _export(module, path, ['out'])
    before = path.read_bytes()
    with pytest.raises(ValueError, match=f'{why}.*left at batch 1'):
        open_file(path)
    assert path.read_bytes() == before
