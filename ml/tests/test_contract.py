import json
from pathlib import Path

import pytest

from attnlens_ml.contract import contract_warnings, recommended_score_threshold, validate_contract

EXAMPLES = Path(__file__).resolve().parents[2] / 'contract' / 'examples'
EXPECTED = json.loads((EXAMPLES / 'expected.json').read_text())
WARNINGS = json.loads((EXAMPLES / 'expected-warnings.json').read_text())


def test_corpus_lists_every_file():
    assert sorted(p.name for p in EXAMPLES.glob('*.json') if not p.name.startswith('expected')) == sorted(EXPECTED)
    assert set(WARNINGS) <= set(EXPECTED)


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_shared_example(name):
    doc = json.loads((EXAMPLES / name).read_text())
    codes = [e.code for e in validate_contract(doc)]
    assert (['schema'] if 'schema' in codes else codes) == EXPECTED[name]
    if 'schema' not in codes:  # warnings are defined for schema-valid documents
        assert [w.code for w in contract_warnings(doc)] == WARNINGS.get(name, [])


def test_methods_are_informational():
    doc = json.loads((EXAMPLES / 'warn-hdetr-without-one-to-many.json').read_text())
    assert validate_contract(doc) == []
    (w,) = contract_warnings(doc)
    assert w.message == (
        "model.methods lists 'h-detr' but the model exports no one_to_many query block, so its views "
        'will not show (methods is informational: the views follow the outputs)'
    )


def test_score_threshold():
    doc = json.loads((EXAMPLES / 'valid-detr-score-threshold.json').read_text())
    assert recommended_score_threshold(doc) == 0.35
    (err,) = validate_contract(json.loads((EXAMPLES / 'invalid-score-threshold-range.json').read_text()))
    assert err.code == 'schema' and err.message.startswith('outputs/0/score_threshold')
    (err,) = validate_contract(json.loads((EXAMPLES / 'invalid-score-threshold-one-to-many.json').read_text()))
    assert err.message == (
        "outputs[3] 'o2m.logits' gives a score_threshold, but only the one_to_one block's "
        'box_logits may: it is the block that makes the detections'
    )
    assert recommended_score_threshold(json.loads((EXAMPLES / 'valid-hdetr.json').read_text())) is None


def test_semantic_message_matches_typescript_half():
    (err,) = validate_contract(json.loads((EXAMPLES / 'invalid-class-count.json').read_text()))
    assert err.message == "outputs[0] 'seg_logits' has 7 channels but the contract lists 6 classes"


def test_sidecar_wins_and_is_checked_against_the_graph(tmp_path):
    import shutil

    from attnlens_ml.contract import load_model_contract, write_sidecar

    src = Path(__file__).resolve().parents[2] / 'tests' / 'fixtures' / 'foreign-relu.onnx'
    model = tmp_path / 'foreign.onnx'
    shutil.copy(src, model)
    contract, errors = load_model_contract(model)
    assert contract is None and errors[0].code == 'no-contract' and 'export kit' in errors[0].message
    doc = json.loads((EXAMPLES / 'valid-segmenter.json').read_text())
    write_sidecar(model, doc)
    contract, errors = load_model_contract(model)
    assert contract == doc
    assert {e.code for e in errors} == {'output-missing'}  # the Relu graph has none of the declared outputs


def test_self_attention_message_matches_typescript_half():
    (err,) = validate_contract(json.loads((EXAMPLES / 'invalid-self-attention-token-count.json').read_text()))
    assert err.message == "outputs[3] 'self_attn' has 400 tokens but grid 20x20 with cls_token='leads' means 401"


def test_older_minor_versions_stay_valid_next_to_1_2():
    doc = json.loads((EXAMPLES / 'valid-vit.json').read_text())
    assert doc['version'] == '1.0' and validate_contract(doc) == []
    doc['version'] = '2.0'
    assert [e.code for e in validate_contract(doc)] == ['schema']
