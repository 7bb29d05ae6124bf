import json
from pathlib import Path

import pytest

from attnlens_ml.contract import validate_contract

EXAMPLES = Path(__file__).resolve().parents[2] / "contract" / "examples"
EXPECTED = json.loads((EXAMPLES / "expected.json").read_text())


def test_corpus_lists_every_file():
    assert sorted(p.name for p in EXAMPLES.glob("*.json") if p.name != "expected.json") == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shared_example(name):
    codes = [e.code for e in validate_contract(json.loads((EXAMPLES / name).read_text()))]
    assert (["schema"] if "schema" in codes else codes) == EXPECTED[name]


def test_semantic_message_matches_typescript_half():
    (err,) = validate_contract(json.loads((EXAMPLES / "invalid-class-count.json").read_text()))
    assert err.message == "outputs[0] 'seg_logits' has 7 channels but the contract lists 6 classes"
