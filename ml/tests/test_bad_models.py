"""The files corpus (tests/fixtures/corpus, ml/scripts/make_bad_models.py) is what the script makes, byte for byte,
and each model is broken in just the one way its name says (the rest stays a valid AttnLens model)."""

import sys
import zipfile
from pathlib import Path

import onnx
import pytest

from attnlens_ml.contract import check_against_graph, read_contract, validate_contract

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / 'tests' / 'fixtures' / 'corpus'
sys.path.insert(0, str(ROOT / 'ml' / 'scripts'))

import make_bad_models  # noqa: E402


@pytest.fixture(scope='module')
def remade(tmp_path_factory):
    out = tmp_path_factory.mktemp('corpus')
    make_bad_models.OUT = out  # every writer in the script writes under OUT
    make_bad_models.main()
    return out


def test_fixtures_reproduce(remade):
    made = sorted(p.name for p in remade.iterdir())
    assert made and all((CORPUS / name).exists() for name in made)
    # torch.save's zip is checked for what the app reads (data.pkl), not its bytes (they vary by torch version)
    for name in (n for n in made if n != 'checkpoint.pt'):
        assert (remade / name).read_bytes() == (CORPUS / name).read_bytes(), name
    assert any(n.endswith('/data.pkl') for n in zipfile.ZipFile(remade / 'checkpoint.pt').namelist())


@pytest.mark.parametrize(
    'name', ['custom-op.onnx', 'opset-30.onnx', 'ir-14.onnx', 'reshape-fail.onnx', 'overflow.onnx', 'huge-input.onnx']
)
def test_each_model_carries_a_valid_contract(name):
    proto = onnx.load(str(CORPUS / name), load_external_data=False)
    contract = read_contract(proto)
    assert validate_contract(contract) == [] and check_against_graph(contract, proto) == []


def test_what_each_gets_wrong():
    load = lambda n: onnx.load(str(CORPUS / n), load_external_data=False)  # noqa: E731
    assert {(o.domain, o.version) for o in load('custom-op.onnx').opset_import} == {('', 17), ('com.acme', 1)}
    assert load('opset-30.onnx').opset_import[0].version == 30
    assert load('ir-14.onnx').ir_version == 14
    assert [d.dim_value for d in load('huge-input.onnx').graph.input[0].type.tensor_type.shape.dim] == [
        1,
        3,
        40_000,
        40_000,
    ]
    assert load('int64-input.onnx').graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT64
    external = load('external.onnx')
    assert any(t.data_location == onnx.TensorProto.EXTERNAL for t in external.graph.initializer)
    assert read_contract(load('Mixed.ONNX')) is None  # its contract is the sidecar
